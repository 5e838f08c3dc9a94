#!/usr/bin/env bash
# End-to-end test of what training holds in memory (issue "Speed": peak resident memory <= 1.3x
# parameters + gradients + optimizer state + the model's workspace (activations) + the reader's
# buffers, where the model is the memory).
# A model with two 500k x 32 tables (32M parameters: 384 MB of parameters and Adam state; the
# tables' gradients are compact rows, never the 128 MB of whole tables) trains one short epoch;
# ectrain reports its peak RSS and what it must hold (log line and metrics.jsonl), and the peak
# stays within 1.3x. Checkpointing during training adds the
# snapshot, which is reported too; the last checkpoint alone needs none. Then a file prepared from
# text ids (500k distinct customers and products, as a shop's logs name them): their vocabularies
# travel into every checkpoint, and holding and writing them keeps within the same bound (it was
# 2.2x when each checkpoint rebuilt the schema's JSON). With data.in_memory the decoded training
# set is reported too and counts in the bound. A small model streaming keeps within it too.
# Usage: tests/e2e/memory_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: memory_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

"$ECTRAIN" generate --out "$TMP/data/train.h5" --rows 20000 --test-rows 2000 --users 500000 --items 500000 \
  --recent-items 0 --seed 3 >"$TMP/generate.log" 2>&1 || fail "generate the data" "$TMP/generate.log"
cat >"$TMP/big.yaml" <<YAML
data:
  train: $TMP/data/train.h5
  test: $TMP/data/test.h5
  label: clicked
  dense: [d0, d1, d2, d3, d4, d5]
  categorical: [user, item, category]
model:
  type: mlp
  embedding_dim: 32
  hidden_units: [64, 32]
train:
  epochs: 1
  global_batch_size: 2048
  output_dir: $TMP/run
YAML

# done_field RUN_DIR NAME: a number from the run's "done" line.
done_field() { grep '"event":"done"' "$1/metrics.jsonl" | grep -oE "\"$2\":[0-9.e+-]+" | cut -d: -f2; }
# within_bound RUN_DIR LABEL [CONDITION]: the run's peak RSS is at most 1.3x what it must hold (state
# + model workspace + reader + data in memory + snapshot, from its done line), and CONDITION (awk,
# over p s w r d c) holds too.
within_bound() {
  local dir=$1 label=$2 condition=${3:-1} p s w r d c
  p=$(done_field "$dir" peak_rss_mb) s=$(done_field "$dir" state_mb) w=$(done_field "$dir" workspace_mb)
  r=$(done_field "$dir" reader_bound_mb) d=$(done_field "$dir" data_in_memory_mb) c=$(done_field "$dir" checkpoint_snapshot_mb)
  local what="$label: peak $p MB within 1.3x of state $s + workspace $w + reader $r + data in memory $d + snapshot $c MB"
  awk -v p="$p" -v s="$s" -v w="$w" -v r="$r" -v d="$d" -v c="$c" \
    "BEGIN { exit !(($condition) && p <= 1.3 * (s + w + r + d + c)) }" && pass "$what" || fail "$what" "$LAST_LOG"
}

expect_exit "train a 32M-parameter model: the memory line" 0 \
  "memory: peak [0-9.]+ MB resident; parameters, gradients and optimizer state 38[45]\.[0-9] MB, model workspace [0-9.]+ MB, reader buffers <= [0-9.]+ MB, checkpoint snapshot 0\.0 MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml"
workspace=$(done_field "$TMP/run" workspace_mb)
# Activations of batch 2048: embeddings (3 x 32 + 6 wide) and 64 + 32 + 1 units, with gradients.
awk -v w="$workspace" 'BEGIN { exit !(w > 2048 * (102 + 97) * 4 * 2 / 1e6 && w < 4) }' &&
  pass "model workspace $workspace MB: the activations of batch 2048 and their gradients" ||
  fail "model workspace $workspace MB: the activations of batch 2048 and their gradients" "$LAST_LOG"
within_bound "$TMP/run" "32M parameters" 'p > s'

expect_exit "the training data held in memory is reported beside the rest" 0 \
  "reader buffers <= [0-9.]+ MB, training data in memory 0\.8[0-9]* MB, checkpoint snapshot 0\.0 MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml" --set data.in_memory=true --set "train.output_dir=$TMP/run_in_memory"
within_bound "$TMP/run_in_memory" "data in memory (the reader then keeps no windows of rows)" 'd > 0 && r < 4'

expect_exit "checkpoints during training: the snapshot is reported" 0 \
  "checkpoint snapshot 384\.[0-9] MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml" --set checkpoint.every_steps=4 --set "train.output_dir=$TMP/run2"
within_bound "$TMP/run2" "checkpoints during training" 'p > s + c'

# A small model (the generated default tables, 4.8M parameters) streaming its data: the fixed costs
# (libraries, HDF5) weigh most here. HDF5's default chunk cache (1 MB per open column) took it to
# 1.39x before the data files were opened without one.
"$ECTRAIN" generate --out "$TMP/small/train.h5" --rows 20000 --test-rows 2000 --recent-items 0 --seed 3 \
  >"$TMP/generate_small.log" 2>&1 || fail "generate the small model's data" "$TMP/generate_small.log"
expect_exit "train a small model streaming its data" 0 "reader buffers <= [0-9.]+ MB, checkpoint snapshot 0\.0 MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml" --set "data.train=$TMP/small/train.h5" --set "data.test=$TMP/small/test.h5" \
  --set "train.output_dir=$TMP/run_small"
within_bound "$TMP/run_small" "a small model streaming (fixed costs' largest share)" 's < 100 && r > 10'

# Real ids are strings: ectrain prepare builds vocabularies of them.
awk 'BEGIN { srand(5); print "user,item,price,bought"
  for (r = 0; r < 300000; r++) printf "customer-%07d,sku-%06d,%.2f,%d\n", int(3000000 * rand()), int(400000 * rand()), 100 * rand(), rand() < 0.2 }' \
  >"$TMP/shop.csv"
expect_exit "prepare 300k rows with about 500k distinct string ids" 0 "label 'bought' \\(binary\\), 1 dense, 2 categorical" -- \
  "$ECTRAIN" prepare --source "$TMP/shop.csv" --label bought --dense price --categorical user,item \
  --train-out "$TMP/shop/train.h5" --test-out "$TMP/shop/test.h5" --test-fraction 0.02
cat >"$TMP/shop.yaml" <<YAML
data:
  train: $TMP/shop/train.h5
  test: $TMP/shop/test.h5
  label: bought
  dense: [price]
  categorical: [user, item]
model:
  type: mlp
  embedding_dim: 16
  hidden_units: [32]
train:
  epochs: 1
  global_batch_size: 2048
  output_dir: $TMP/run3
checkpoint:
  every_steps: 40
YAML
expect_exit "train on the prepared file, checkpointing every 40 steps" 0 "checkpoint snapshot [0-9.]+ MB" -- \
  "$ECTRAIN" train "$TMP/shop.yaml"
within_bound "$TMP/run3" "vocabularies of 500k ids" 'c > 0'

finish memory_test
