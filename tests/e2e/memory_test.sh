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
# set is reported too and counts in the bound.
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

expect_exit "train a 32M-parameter model: the memory line" 0 \
  "memory: peak [0-9.]+ MB resident; parameters, gradients and optimizer state 38[45]\.[0-9] MB, model workspace [0-9.]+ MB, reader buffers <= [0-9.]+ MB, checkpoint snapshot 0\.0 MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml"
peak=$(done_field "$TMP/run" peak_rss_mb)
state=$(done_field "$TMP/run" state_mb)
workspace=$(done_field "$TMP/run" workspace_mb)
reader=$(done_field "$TMP/run" reader_bound_mb)
# Activations of batch 2048: embeddings (3 x 32 + 6 wide) and 64 + 32 + 1 units, with gradients.
awk -v w="$workspace" 'BEGIN { exit !(w > 2048 * (102 + 97) * 4 * 2 / 1e6 && w < 4) }' &&
  pass "model workspace $workspace MB: the activations of batch 2048 and their gradients" ||
  fail "model workspace $workspace MB: the activations of batch 2048 and their gradients" "$LAST_LOG"
awk -v p="$peak" -v s="$state" -v w="$workspace" -v r="$reader" 'BEGIN { exit !(p > s && p <= 1.3 * (s + w + r)) }' &&
  pass "peak RSS $peak MB within 1.3x of state $state MB + workspace $workspace MB + reader $reader MB" ||
  fail "peak RSS $peak MB within 1.3x of state $state MB + workspace $workspace MB + reader $reader MB" "$LAST_LOG"

expect_exit "the training data held in memory is reported beside the rest" 0 \
  "reader buffers <= [0-9.]+ MB, training data in memory 0\.8[0-9]* MB, checkpoint snapshot 0\.0 MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml" --set data.in_memory=true --set "train.output_dir=$TMP/run_in_memory"
peak_m=$(done_field "$TMP/run_in_memory" peak_rss_mb)
reader_m=$(done_field "$TMP/run_in_memory" reader_bound_mb)
data_m=$(done_field "$TMP/run_in_memory" data_in_memory_mb)
awk -v p="$peak_m" -v s="$state" -v w="$workspace" -v r="$reader_m" -v d="$data_m" \
  'BEGIN { exit !(d > 0 && r < 4 && p <= 1.3 * (s + w + r + d)) }' &&
  pass "data in memory: peak $peak_m MB within 1.3x of state $state + workspace $workspace + reader $reader_m + data $data_m MB" ||
  fail "data in memory: peak $peak_m MB within 1.3x of state $state + workspace $workspace + reader $reader_m + data $data_m MB" "$LAST_LOG"

expect_exit "checkpoints during training: the snapshot is reported" 0 \
  "checkpoint snapshot 384\.[0-9] MB" -- \
  "$ECTRAIN" train "$TMP/big.yaml" --set checkpoint.every_steps=4 --set "train.output_dir=$TMP/run2"
snapshot=$(done_field "$TMP/run2" checkpoint_snapshot_mb)
peak2=$(done_field "$TMP/run2" peak_rss_mb)
awk -v p="$peak2" -v s="$state" -v w="$workspace" -v r="$reader" -v c="$snapshot" \
  'BEGIN { exit !(p > s + c && p <= 1.3 * (s + w + r + c)) }' &&
  pass "with a snapshot of $snapshot MB: peak $peak2 MB within 1.3x of all four" ||
  fail "with a snapshot of $snapshot MB: peak $peak2 MB within 1.3x of all four" "$LAST_LOG"

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
state3=$(done_field "$TMP/run3" state_mb)
workspace3=$(done_field "$TMP/run3" workspace_mb)
reader3=$(done_field "$TMP/run3" reader_bound_mb)
snapshot3=$(done_field "$TMP/run3" checkpoint_snapshot_mb)
peak3=$(done_field "$TMP/run3" peak_rss_mb)
awk -v p="$peak3" -v s="$state3" -v w="$workspace3" -v r="$reader3" -v c="$snapshot3" \
  'BEGIN { exit !(c > 0 && p <= 1.3 * (s + w + r + c)) }' &&
  pass "vocabularies of 500k ids: peak $peak3 MB within 1.3x of state $state3 + workspace $workspace3 + reader $reader3 + snapshot $snapshot3 MB" ||
  fail "vocabularies of 500k ids: peak $peak3 MB within 1.3x of state $state3 + workspace $workspace3 + reader $reader3 + snapshot $snapshot3 MB" "$LAST_LOG"

finish memory_test
