#!/usr/bin/env bash
# The distributed engine on one host (Open MPI over shared memory), 2 ranks:
#  (a) exposed communication share = sync_exposed_seconds / train_seconds (time inside gradient
#      sync that backward did not hide), for the seed model (configs/quickstart.yaml, global batch
#      1024) and a larger MLP (generated data: 13 dense + 3 categorical columns, hidden layers
#      1024-512-256, per-rank batch 512), each with comm.bucket_mb=0 (one all-reduce after
#      backward), the default 4, and a bucket size smaller than the model's gradients (SPLIT: the
#      seed model's 28 KB and the MLP's 2.9 MB each fit in one 4 MB bucket, and a single bucket is
#      all-reduced after backward, as with 0; only with several buckets do some start during
#      backward, on a communication thread);
#  (b) weak scaling 1 -> 2 ranks: samples/s of 2 ranks at global batch 2B over 1 rank at B, for the
#      larger MLP at per-rank batch 512 (compute dominates) and at a small per-rank batch (64); and
#      the machine's ceiling for it: two independent 1-rank jobs at once (no communication at all).
# Every configuration runs once per round; the order alternates (reversed on even rounds) so that
# machine noise hits all alike. Prints medians; ratios are medians of the per-round ratios (the two
# runs of a ratio are from the same round). Throughput counts the step loop only.
# Usage: bench/engine_scaling.sh [ROUNDS]   (default 3; from anywhere, after launch/setup.sh)
# Sizes (environment): MLP_ROWS (131072 generated rows), MLP_BATCH (512 per rank), MLP_STEPS (120),
# SMALL_BATCH (64 per rank), SMALL_STEPS (400), QS_EPOCHS (150: about 1,500 steps of the seed model),
# QS_SPLIT_MB (0.01: 3 buckets of the seed model), MLP_SPLIT_MB (1: 3 buckets of the MLP).
# About 3 minutes with the defaults on an idle 2-core machine (plus any wait for it to be idle).
# Each run waits for a quiet machine and is repeated when other processes were busy during it
# (NOISE_LIMIT, TRIES, QUIET_WAIT: see bench/lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MLP_ROWS=${MLP_ROWS:-131072}
MLP_BATCH=${MLP_BATCH:-512}
MLP_STEPS=${MLP_STEPS:-120}
SMALL_BATCH=${SMALL_BATCH:-64}
SMALL_STEPS=${SMALL_STEPS:-400}
QS_EPOCHS=${QS_EPOCHS:-150}
QS_SPLIT_MB=${QS_SPLIT_MB:-0.01}
MLP_SPLIT_MB=${MLP_SPLIT_MB:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_engine
private_ectrain
cpu_cgroup

[ -f datasets/online-shoppers-intention/prepared/train.h5 ] || "$ECTRAIN" prepare configs/quickstart.yaml >/dev/null
mlp_data "$MLP_ROWS"

# QS and MLP are used by name (local -n in run).
# shellcheck disable=SC2034
QS=(configs/quickstart.yaml --set train.epochs="$QS_EPOCHS")
# shellcheck disable=SC2034
MLP=(configs/quickstart.yaml --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" --set data.label=label
  --set 'data.dense=[d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13]' --set 'data.categorical=[c1,c2,c3]'
  --set model.embedding_dim=16 --set 'model.hidden_units=[1024,512,256]' --set train.epochs=1000)
SB=$SMALL_BATCH
MB=$MLP_BATCH
# name ranks global_batch bucket_mb model steps (0: the model's epochs)
CONFIGS=(
  "qs_b0 2 1024 0 QS 0"
  "qs_b4 2 1024 4 QS 0"
  "qs_bs 2 1024 $QS_SPLIT_MB QS 0"
  "mlp_r1_big 1 $MB 4 MLP $MLP_STEPS"
  "mlp_pair_big 1 $MB 4 MLP $MLP_STEPS"
  "mlp_r2_big_b0 2 $((2 * MB)) 0 MLP $MLP_STEPS"
  "mlp_r2_big_b4 2 $((2 * MB)) 4 MLP $MLP_STEPS"
  "mlp_r2_big_bs 2 $((2 * MB)) $MLP_SPLIT_MB MLP $MLP_STEPS"
  "mlp_r1_small 1 $SB 4 MLP $SMALL_STEPS"
  "mlp_pair_small 1 $SB 4 MLP $SMALL_STEPS"
  "mlp_r2_small_b0 2 $((2 * SB)) 0 MLP $SMALL_STEPS"
  "mlp_r2_small_b4 2 $((2 * SB)) 4 MLP $SMALL_STEPS"
  "mlp_r2_small_bs 2 $((2 * SB)) $MLP_SPLIT_MB MLP $SMALL_STEPS"
)

run() {  # run ROUND "NAME RANKS BATCH BUCKET MODEL STEPS"
  local round=$1 name ranks batch bucket model steps launch=()
  read -r name ranks batch bucket model steps <<<"$2"
  local -n args=$model
  [[ $name = *pair* ]] && launch=(pair)
  train_measured "$TMP/${name}_$round" "${launch[@]}" mpirun -np "$ranks" --bind-to none "$ECTRAIN" train "${args[@]}" \
    --set train.global_batch_size="$batch" --set comm.bucket_mb="$bucket" --set train.max_steps="$steps" \
    --set eval.every_epochs=0 --set checkpoint.every_steps=0
  local dir=$RUN_DIR m=$RUN_DIR/metrics.jsonl
  # A pair: the sum of its two jobs' samples/s, the mean of the rest.
  if [[ $name = *pair* ]]; then
    m=$dir/pair.jsonl
    pair_done "$dir" "$m" samples_per_second
  fi
  # round samples/s train_s exposed_s bytes/step steps foreign_load
  echo "$round $(field "$m" samples_per_second) $(field "$m" train_seconds) $(field "$m" sync_exposed_seconds)" \
    "$(field "$m" sync_bytes_per_step) $(field "$m" steps) $FOREIGN" >>"$TMP/$name.txt"
  grep -m1 -oE "parameters [0-9]+" "$dir.log" | cut -d' ' -f2 >"$TMP/$name.params"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
in_rounds "$ROUNDS" run
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

share() { awk '{ print $4 / $3 }' "$TMP/$1.txt" | median; }  # exposed / train, per run

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME");" \
  "Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$'), shared memory, --bind-to none; $(date -u +%F)"
echo "program: $(git describe --always --dirty 2>/dev/null || echo unknown); rounds: $ROUNDS (medians); load average before/after: $load_before / $load_after"
foreign_summary 7 "$TMP"/*.txt
echo
echo "(a) exposed communication share, 2 ranks"
echo
echo "| model | parameters | gradient bytes/step/rank | global batch | comm.bucket_mb | samples/s | step loop (s) | sync exposed (s) | exposed share |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for row in "qs_b0|seed (quickstart)|1024|0" "qs_b4|seed (quickstart)|1024|4 (default)" "qs_bs|seed (quickstart)|1024|$QS_SPLIT_MB" \
  "mlp_r2_big_b0|MLP 1024-512-256|$((2 * MB))|0" "mlp_r2_big_b4|MLP 1024-512-256|$((2 * MB))|4 (default)" \
  "mlp_r2_big_bs|MLP 1024-512-256|$((2 * MB))|$MLP_SPLIT_MB"; do
  IFS='|' read -r name model batch bucket <<<"$row"
  printf '| %s | %s | %s | %s | %s | %.0f | %.3f | %.3f | %.1f%% |\n' "$model" "$(cat "$TMP/$name.params")" \
    "$(col "$name" 5)" "$batch" "$bucket" "$(col "$name" 2)" "$(col "$name" 3)" "$(col "$name" 4)" \
    "$(awk -v s="$(share "$name")" 'BEGIN { print s * 100 }')"
done
echo
echo "(b) weak scaling 1 -> 2 ranks, MLP 1024-512-256 (goal: 2 ranks / 1 rank >= 1.8)"
echo
echo "| per-rank batch | 1 rank samples/s | 2 ranks, bucket_mb 0 | ratio | 2 ranks, bucket_mb 4 (default) | ratio | 2 ranks, bucket_mb $MLP_SPLIT_MB | ratio | ceiling: two 1-rank jobs at once, sum | ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for size in big small; do
  batch=$([ $size = big ] && echo "$MB" || echo "$SB")
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f |\n' "$batch" "$(col mlp_r1_$size 2)" \
    "$(col mlp_r2_${size}_b0 2)" "$(ratio mlp_r2_${size}_b0 mlp_r1_$size)" \
    "$(col mlp_r2_${size}_b4 2)" "$(ratio mlp_r2_${size}_b4 mlp_r1_$size)" \
    "$(col mlp_r2_${size}_bs 2)" "$(ratio mlp_r2_${size}_bs mlp_r1_$size)" \
    "$(col mlp_pair_$size 2)" "$(ratio mlp_pair_$size mlp_r1_$size)"
done
echo
echo "per run (round: samples/s, step loop s, exposed s, foreign load):"
for c in "${CONFIGS[@]}"; do
  name=${c%% *}
  echo "  $name: $(awk '{ printf "%s: %.0f %.3f %.3f %.2f; ", $1, $2, $3, $4, $7 }' "$TMP/$name.txt")"
done
