#!/usr/bin/env bash
# What checkpoints cost with a 1-million-row embedding: write time and size on rank 0, and how long
# training stood still for them (rank 0 hands a snapshot to a background writer; the other ranks
# wait only for that hand-over, at their next collective). Data: 1,000,000 generated rows, one
# categorical column with a distinct id per row (the embedding table, 16 wide) and 2 dense columns.
# Runs 2 ranks (mpirun), 200 steps of global batch 1024, a checkpoint every 50 steps; RUNS repeats.
# Then reads the last checkpoint back (`ectrain eval`: load, verify its checksums, score 1,000 rows).
# Usage: bench/checkpoint_cost.sh [RUNS]   (after launch/setup.sh; from the repository top)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${1:-3}
ECTRAIN=$(realpath "${ECTRAIN_BUILD_DIR:-build}/src/ectrain")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_ckbench

awk 'BEGIN { srand(7); print "x1,x2,user,clicked";
  for (i = 0; i < 1000000; i++) { x = rand() * 2 - 1; printf "%.4f,%.4f,u%d,%d\n", x, rand(), i, (rand() < 1 / (1 + exp(-2 * x))) } }' \
  >"$TMP/users.csv"
"$ECTRAIN" prepare --source "$TMP/users.csv" --label clicked --dense x1,x2 --categorical user \
  --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.001 >/dev/null

for run in $(seq "$RUNS"); do
  out="$TMP/run$run"
  mpirun --bind-to none -np 2 "$ECTRAIN" train --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" \
    --set data.label=clicked --set 'data.dense=[x1, x2]' --set 'data.categorical=[user]' --set model.embedding_dim=16 \
    --set train.global_batch_size=1024 --set train.max_steps=200 --set eval.every_epochs=0 \
    --set checkpoint.every_steps=50 --set checkpoint.keep_last=1 --set "train.output_dir=$out" \
    configs/quickstart.yaml >"$out.log" 2>&1
  grep -E "checkpoint .* written in" "$out.log" | sed -E 's/.*written in ([0-9.]+) s \(([0-9.]+) MB.*/\1 \2/' >>"$TMP/writes.txt"
  grep '"event":"done"' "$out/metrics.jsonl" | sed -E 's/.*"checkpoint_stall_seconds":([0-9.e-]+).*"train_seconds":([0-9.e-]+).*/\1 \2/' \
    >>"$TMP/stalls.txt"
  start=$(date +%s.%N)
  "$ECTRAIN" eval --checkpoint "$out/checkpoints" >/dev/null
  echo "$(date +%s.%N) $start" | awk '{ printf "%.3f\n", $1 - $2 }' >>"$TMP/loads.txt"
done

params=$(grep -m1 -o "parameters [0-9]*" "$TMP/run1.log" | cut -d' ' -f2)
writes=$(wc -l <"$TMP/writes.txt")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $RUNS runs, $writes checkpoints, medians"
echo "model parameters: $params (Adam: parameters + 2 moment tensors per checkpoint)"
echo "| checkpoint size (MB) | write time on rank 0, background (s) | training stalled per checkpoint (s) | step loop per run (s) | eval from the checkpoint (s) |"
echo "| --- | --- | --- | --- | --- |"
size=$(cut -d' ' -f2 "$TMP/writes.txt" | median)
write=$(cut -d' ' -f1 "$TMP/writes.txt" | median)
# Each run hands over 4 checkpoints (steps 50, 100, 150, 200).
stall=$(awk '{ print $1 / 4 }' "$TMP/stalls.txt" | median)
loop=$(cut -d' ' -f2 "$TMP/stalls.txt" | median)
load=$(median <"$TMP/loads.txt")
echo "| $size | $write | $stall | $loop | $load |"
