#!/usr/bin/env bash
# Two builds of ectrain against each other, 2 ranks on one host (issue "Speed"): for trying a change
# to the step before landing it. The model and data of bench/vs_pytorch.sh (bench/lib.sh: ctr_data,
# ctr_config; data in memory), per-rank batch 256 and 4096; each round runs build A on 1 rank
# (taskset -c 0, the reference of the 2 / 1 ratio), then A and B on 2 ranks (mpirun -np 2
# --bind-to core), the order reversed on even rounds; a run is repeated while other processes were
# busy (bench/lib.sh). Both binaries are copied first, so rebuilding during the runs changes nothing.
# Prints medians of samples/s, the per-round ratios' medians (2 ranks / 1 for each build, B / A) and
# where rank 0's step goes (microseconds per step, syncs including the wait for the other rank).
# Usage: bench/two_builds.sh BUILD_A BUILD_B [ROUNDS]   (the ectrain binaries; default 6 rounds)
# Environment: ROWS (2,000,000), SEED (1), STEPS ("12000 1000": steps per run at 256 and 4096),
# SETS (extra --set options for every run, e.g. "--set comm.host_shared_model=false"), B_ENV
# (VAR=VALUE settings for build B's runs only, e.g. ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1 as
# bench/comm_ceiling.sh sets; then B may be the same binary as A).
# About 3 minutes with the defaults on an idle 2-core machine.
set -euo pipefail
QUIET_WAIT=${QUIET_WAIT:-5}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
  echo "usage: bench/two_builds.sh BUILD_A BUILD_B [ROUNDS] (two ectrain binaries)" >&2
  exit 2
fi
ROUNDS=${3:-6}
ROWS=${ROWS:-2000000}
SEED=${SEED:-1}
read -r -a STEPS <<<"${STEPS:-12000 1000}"
read -r -a SETS <<<"${SETS:-}"
read -r -a B_ENVS <<<"${B_ENV:-}"
BATCHES=(256 4096)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
bench_tmp ectrain_two_builds
cp "$1" "$TMP/ectrain_a"
cp "$2" "$TMP/ectrain_b"
export ECTRAIN=$TMP/ectrain_a  # prepares the data (bench/lib.sh: ctr_data)
ctr_data "$ROWS" "$SEED"
ctr_config "$TMP/model.yaml"

# name|ranks|per-rank batch|steps|build
CONFIGS=()
for i in "${!BATCHES[@]}"; do
  b=${BATCHES[$i]} n=${STEPS[$i]}
  CONFIGS+=("one_$b|1|$b|$n|a" "a_$b|2|$b|$n|a" "b_$b|2|$b|$n|b")
done
one_run() {  # one_run ROUND "NAME|RANKS|BATCH|STEPS|BUILD": appends "round samples/s foreign_load" to $TMP/NAME.txt
  local round=$1 name ranks batch steps build launch
  IFS='|' read -r name ranks batch steps build <<<"$2"
  echo "round $round/$ROUNDS: $name" >&2
  if [ "$ranks" -gt 1 ]; then launch=(mpirun -np "$ranks" --bind-to core); else launch=(taskset -c 0); fi
  if [ "$build" = b ] && [ ${#B_ENVS[@]} -gt 0 ]; then launch=(env "${B_ENVS[@]}" "${launch[@]}"); fi
  train_measured "$TMP/${name}_$round" "${launch[@]}" "$TMP/ectrain_$build" train "$TMP/model.yaml" \
    --set train.global_batch_size=$((ranks * batch)) --set train.max_steps="$steps" "${SETS[@]}"
  echo "$round $(field "$RUN_DIR/metrics.jsonl" samples_per_second) $FOREIGN" >>"$TMP/$name.txt"
  phases_to "$TMP/$name.phases" "$round" "$RUN_DIR/metrics.jsonl"
  rm -rf "$TMP/${name}_$round"_*
}
in_rounds "$ROUNDS" one_run

echo "machine: $NCORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%F);" \
  "A: $1, B: $2${B_ENV:+ with $B_ENV}; Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$')"
echo "model and data: bench/vs_pytorch.sh's ($ROWS rows, seed $SEED, in memory); $ROUNDS rounds (medians; ratios: medians of per-round ratios)${SETS[*]:+; ${SETS[*]}}"
foreign_summary 3 "$TMP"/*.txt
echo
echo "| per-rank batch | 1 rank (A) | 2 ranks, A | 2 / 1 | 2 ranks, B | 2 / 1 | B / A |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for b in "${BATCHES[@]}"; do
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.2f | %.3f |\n' "$b" "$(col "one_$b" 2)" "$(col "a_$b" 2)" \
    "$(ratio "a_$b" "one_$b")" "$(col "b_$b" 2)" "$(ratio "b_$b" "one_$b")" "$(ratio "b_$b" "a_$b")"
done
echo
echo "per round, 2 / 1 (A; B):"
for b in "${BATCHES[@]}"; do echo "  batch $b: $(round_ratios "a_$b" "one_$b" "b_$b" "one_$b")"; done
echo
echo "Where rank 0's step goes (microseconds per step, medians)"
echo
phases_header
for b in "${BATCHES[@]}"; do phases_rows "$b" "one_$b|1 rank, A" "a_$b|2 ranks, A" "b_$b|2 ranks, B"; done
