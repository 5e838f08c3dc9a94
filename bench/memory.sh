#!/usr/bin/env bash
# Peak resident memory against what training must hold (issue "Speed": peak RSS <= 1.3x parameters,
# gradients, optimizer state and batch buffers, plus the data the rank holds). 1 rank, one epoch;
# ectrain reports both in the done line of metrics.jsonl: peak_rss_mb (getrusage), state_mb
# (parameters, the gradient arena's whole tensors, the compact gradient rows of row-sparse tables,
# optimizer state), workspace_mb (the model's activations and their gradients), reader_bound_mb
# (the reader's buffers, their bound), data_in_memory_mb (data.in_memory), checkpoint_snapshot_mb.
# Models (configs/quickstart.yaml on data from `ectrain generate`, 5,000 test rows; embeddings of
# 32, mlp 64 -> 32, Adam, batch 4096):
#   large: user and item tables of USERS x 32 and ITEMS x 32 (default 1M each: 64M parameters),
#          ROWS rows, and the same with checkpoint.every_steps=50 (a snapshot for the writer);
#   small: the default generated tables (a few thousand ids), the fixed costs' share; and the same
#          with data.in_memory (the rank then holds the decoded training set);
#   prepared: ROWS rows of a CSV with string ids as a shop's logs have them (customers drawn from
#          2.5 x ROWS, products from ROWS / 2: about ROWS distinct ids each side), through `ectrain
#          prepare`, whose vocabularies every checkpoint carries; checkpoint.every_steps=50.
# Then the host's memory with 2 ranks on it (mpirun -np 2), the large model: one shared copy of the
# parameters and optimizer state (comm.host_shared_model, the default) against a copy per rank.
# Host memory is the peak of the ranks' summed proportional set sizes (Pss of
# /proc/PID/smaps_rollup, sampled every 0.2 s: a page two ranks map counts half in each).
# Usage: bench/memory.sh   (from anywhere, after launch/setup.sh; about 3 minutes)
# Environment: ROWS (500000), USERS (1000000), ITEMS (1000000).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROWS=${ROWS:-500000}
USERS=${USERS:-1000000}
ITEMS=${ITEMS:-1000000}
bench_tmp ectrain_memory
private_ectrain

"$ECTRAIN" generate --out "$TMP/large/train.h5" --rows "$ROWS" --users "$USERS" --items "$ITEMS" --recent-items 0 --test-rows 5000 \
  --seed 3 >"$TMP/generate_large.log" 2>&1 || { tail "$TMP/generate_large.log"; exit 1; }
"$ECTRAIN" generate --out "$TMP/small/train.h5" --rows "$ROWS" --recent-items 0 --test-rows 5000 --seed 3 >"$TMP/generate_small.log" 2>&1 ||
  { tail "$TMP/generate_small.log"; exit 1; }
awk -v n="$ROWS" 'BEGIN { srand(5); print "user,item,price,bought"
  for (r = 0; r < n; r++) printf "customer-%08d,sku-%07d,%.2f,%d\n", int(2.5 * n * rand()), int(n / 2 * rand()), 100 * rand(), rand() < 0.2 }' \
  >"$TMP/shop.csv"
"$ECTRAIN" prepare --source "$TMP/shop.csv" --label bought --dense price --categorical user,item --test-fraction 0.01 \
  --train-out "$TMP/shop/train.h5" --test-out "$TMP/shop/test.h5" >"$TMP/prepare_shop.log" 2>&1 || { tail "$TMP/prepare_shop.log"; exit 1; }

# The quickstart's settings on the generated data (generate's summary ends with the --set flags).
data_flags() { sed -n 's/.*train on it with: //p' "$1"; }
read -r -a LARGE <<<"$(data_flags "$TMP/generate_large.log")"
read -r -a SMALL <<<"$(data_flags "$TMP/generate_small.log")"
COMMON=(--set model.embedding_dim=32 --set model.hidden_units=[64,32] --set train.epochs=1
  --set train.global_batch_size=4096 --set checkpoint.every_steps=0)

echo "machine: $NCORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F);" \
  "ectrain $(git describe --always --dirty 2>/dev/null || echo unknown); 1 rank, one epoch of $ROWS generated rows, batch 4096"
echo
echo "| model | parameters | must hold (MB): state + workspace + reader (+ data in memory) (+ snapshot) | peak RSS (MB) | ratio |"
echo "| --- | --- | --- | --- | --- |"
row() {  # row LABEL FLAGS...: one run of configs/quickstart.yaml with FLAGS
  local label=$1 dir
  shift
  dir=$TMP/run_$RANDOM
  measured "$ECTRAIN" train configs/quickstart.yaml "${COMMON[@]}" "$@" --set "train.output_dir=$dir" >"$dir.log" 2>&1 ||
    { tail -20 "$dir.log"; exit 1; }
  local m=$dir/metrics.jsonl params
  params=$(grep -m1 -oE 'parameters [0-9]+' "$dir.log" | grep -oE '[0-9]+$')
  awk -v l="$label" -v n="${params:-?}" -v s="$(field "$m" state_mb)" -v w="$(field "$m" workspace_mb)" \
    -v r="$(field "$m" reader_bound_mb)" -v d="$(field "$m" data_in_memory_mb)" -v c="$(field "$m" checkpoint_snapshot_mb)" \
    -v p="$(field "$m" peak_rss_mb)" 'BEGIN { need = s + w + r + d + c; printf "| %s | %s | %.1f + %.1f + %.1f%s%s = %.1f | %.1f | %.2f |\n",
      l, n, s, w, r, (d > 0 ? sprintf(" + %.1f", d) : ""), (c > 0 ? sprintf(" + %.1f", c) : ""), need, p, p / need }'
  rm -rf "$dir"
}
row "user and item tables of ${USERS} x 32 and ${ITEMS} x 32" "${LARGE[@]}"
row "the same, checkpoint.every_steps=50" "${LARGE[@]}" --set checkpoint.every_steps=50
row "default generated tables" "${SMALL[@]}"
row "default generated tables, data.in_memory" "${SMALL[@]}" --set data.in_memory=true
vocabularies=$("$ECTRAIN" inspect "$TMP/shop/train.h5" | sed -n 's/.*vocabularies stored (\([0-9]*\) values, \([0-9]*\) values.*/\1 customers, \2 products/p')
row "prepared string ids (vocabularies of $vocabularies) x 32, checkpoint.every_steps=50" \
  --set "data.train=$TMP/shop/train.h5" --set "data.test=$TMP/shop/test.h5" --set data.label=bought \
  --set "data.dense=[price]" --set "data.categorical=[user,item]" --set checkpoint.every_steps=50

echo
echo "2 ranks on one host (mpirun -np 2 --bind-to none), the first model above:"
echo
echo "| parameters and optimizer state | host memory: peak of the ranks' summed Pss (MB) | rank 0: state_mb | rank 0: peak RSS (MB) |"
echo "| --- | --- | --- | --- |"
host_row() {  # host_row LABEL FLAGS...: 2 ranks of configs/quickstart.yaml with FLAGS, sampled
  local label=$1 dir job peak=0 sum pid
  shift
  dir=$TMP/run_$RANDOM
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --bind-to none "$ECTRAIN" train \
    configs/quickstart.yaml "${COMMON[@]}" "$@" --set "train.output_dir=$dir" >"$dir.log" 2>&1 &
  job=$!
  while kill -0 "$job" 2>/dev/null; do
    sum=0
    for pid in $(pgrep -f "train.output_dir=$dir"); do
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ectrain ] || continue  # not mpirun
      sum=$((sum + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    [ "$sum" -gt "$peak" ] && peak=$sum
    sleep 0.2
  done
  wait "$job" || { tail -20 "$dir.log"; exit 1; }
  local m=$dir/metrics.jsonl
  awk -v l="$label" -v p="$peak" -v s="$(field "$m" state_mb)" -v r="$(field "$m" peak_rss_mb)" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.1f |\n", l, p * 1.024 / 1000, s, r }'
  rm -rf "$dir"
}
host_row "one shared copy (the default)" "${LARGE[@]}"
host_row "a copy per rank (comm.host_shared_model: false)" "${LARGE[@]}" --set comm.host_shared_model=false
