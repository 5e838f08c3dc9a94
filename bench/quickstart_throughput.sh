#!/usr/bin/env bash
# Training throughput of the quickstart model (bundled Online Shoppers data) at global batch 32
# and 1024 with 1 and 2 MPI ranks, and the time from launch to the end of the first step.
# Runs alternate between configurations (RUNS rounds) so machine noise hits all alike; prints
# medians and the 2-rank / 1-rank ratio. Throughput counts the step loop only (no eval/checkpoint).
# Usage: bench/quickstart_throughput.sh [RUNS]   (after launch/setup.sh; from the repository top)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${1:-5}
ECTRAIN=${ECTRAIN_BUILD_DIR:-build}/src/ectrain
CONFIG=configs/quickstart.yaml
[ -f datasets/online-shoppers-intention/prepared/train.h5 ] || "$ECTRAIN" prepare "$CONFIG" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_bench

# About 6,000 steps at batch 32 and 2,000 at batch 1024: long enough to time, short enough to repeat.
declare -A EPOCHS=([32]=20 [1024]=200)

for round in $(seq "$RUNS"); do
  for batch in 32 1024; do
    for ranks in 1 2; do
      dir="$TMP/b${batch}_r${ranks}_${round}"
      mpirun -np "$ranks" --bind-to none "$ECTRAIN" train "$CONFIG" --set train.global_batch_size=$batch \
        --set train.epochs="${EPOCHS[$batch]}" --set eval.every_epochs=0 --set checkpoint.every_steps=0 \
        --set "train.output_dir=$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
      echo "$(field "$dir/metrics.jsonl" samples_per_second) $(field "$dir/metrics.jsonl" seconds_to_first_step)" \
        >>"$TMP/b${batch}_r${ranks}.txt"
    done
  done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); runs: $RUNS (medians)"
printf '| global batch | ranks | samples/s | 2 ranks / 1 rank | launch to first step (s) |\n| --- | --- | --- | --- | --- |\n'
for batch in 32 1024; do
  one=$(cut -d' ' -f1 "$TMP/b${batch}_r1.txt" | median)
  for ranks in 1 2; do
    sps=$(cut -d' ' -f1 "$TMP/b${batch}_r${ranks}.txt" | median)
    first=$(cut -d' ' -f2 "$TMP/b${batch}_r${ranks}.txt" | median)
    # The ratio of medians; per-round ratios would pair runs, but rounds are seconds apart anyway.
    ratio=$(awk -v a="$sps" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %s | %.0f | %s | %.3f |\n' "$batch" "$ranks" "$sps" "$([ "$ranks" = 2 ] && echo "$ratio" || echo -)" "$first"
  done
done
