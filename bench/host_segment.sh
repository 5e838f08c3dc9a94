#!/usr/bin/env bash
# 2 ranks on one host against 1 (issue "Speed"): the model and data of bench/vs_pytorch.sh
# (bench/lib.sh: ctr_data, ctr_config; data in memory), mpirun -np 2 --bind-to core at per-rank
# batch 256 and 4096 in three ways: the defaults (collectives through the host segment, one shared
# copy of the model), the segment with a copy of the model per rank (comm.host_shared_model:
# false), and MPI messages with a copy per rank (both false); 1 rank (taskset -c 0) is the
# reference. Every configuration runs once a round, the order reversed on even rounds; a run is
# repeated while other processes were busy (bench/lib.sh).
# Prints medians of samples/s, the per-round ratios' medians (2 ranks / 1, shared model / copies)
# and where rank 0's step goes (microseconds per step, syncs including the wait for the other rank).
# Usage: bench/host_segment.sh [ROUNDS]   (default 6; from anywhere, after launch/setup.sh)
# Environment: ROWS (2,000,000), SEED (1), STEPS ("12000 1000": steps per run at 256 and 4096).
# About 5 minutes with the defaults on an idle 2-core machine.
set -euo pipefail
QUIET_WAIT=${QUIET_WAIT:-5}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
ROWS=${ROWS:-2000000}
SEED=${SEED:-1}
read -r -a STEPS <<<"${STEPS:-12000 1000}"
BATCHES=(256 4096)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
bench_tmp ectrain_host_segment
private_ectrain
ctr_data "$ROWS" "$SEED"
ctr_config "$TMP/model.yaml"

# name|ranks|per-rank batch|steps|host_shared_memory|host_shared_model
CONFIGS=()
for i in "${!BATCHES[@]}"; do
  b=${BATCHES[$i]} n=${STEPS[$i]}
  CONFIGS+=("one_$b|1|$b|$n|true|true" "shared_$b|2|$b|$n|true|true" "copies_$b|2|$b|$n|true|false"
    "messages_$b|2|$b|$n|false|false")
done
one_run() {  # one_run ROUND "NAME|RANKS|BATCH|STEPS|SEGMENT|MODEL": appends "round samples/s foreign_load" to $TMP/NAME.txt
  local round=$1 name ranks batch steps segment model launch
  IFS='|' read -r name ranks batch steps segment model <<<"$2"
  echo "round $round/$ROUNDS: $name" >&2
  if [ "$ranks" -gt 1 ]; then launch=(mpirun -np "$ranks" --bind-to core); else launch=(taskset -c 0); fi
  train_measured "$TMP/${name}_$round" "${launch[@]}" "$ECTRAIN" train "$TMP/model.yaml" \
    --set train.global_batch_size=$((ranks * batch)) --set train.max_steps="$steps" \
    --set comm.host_shared_memory="$segment" --set comm.host_shared_model="$model"
  echo "$round $(field "$RUN_DIR/metrics.jsonl" samples_per_second) $FOREIGN" >>"$TMP/$name.txt"
  phases_to "$TMP/$name.phases" "$round" "$RUN_DIR/metrics.jsonl"
  rm -rf "$TMP/${name}_$round"_*
}
in_rounds "$ROUNDS" one_run

echo "machine: $NCORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%F);" \
  "ectrain $(git describe --always --dirty 2>/dev/null || echo unknown); Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$')"
echo "model and data: bench/vs_pytorch.sh's ($ROWS rows, seed $SEED, in memory); $ROUNDS rounds (medians; ratios: medians of per-round ratios)"
foreign_summary 3 "$TMP"/*.txt
echo
echo "| per-rank batch | 1 rank | 2 ranks, one shared model | 2 / 1 | 2 ranks, a copy each | 2 / 1 | 2 ranks, MPI messages, a copy each | 2 / 1 | shared / a copy each |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for b in "${BATCHES[@]}"; do
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.2f |\n' "$b" "$(col "one_$b" 2)" \
    "$(col "shared_$b" 2)" "$(ratio "shared_$b" "one_$b")" "$(col "copies_$b" 2)" "$(ratio "copies_$b" "one_$b")" \
    "$(col "messages_$b" 2)" "$(ratio "messages_$b" "one_$b")" "$(ratio "shared_$b" "copies_$b")"
done
echo
echo "per round, 2 / 1 (one shared model; a copy each):"
for b in "${BATCHES[@]}"; do echo "  batch $b: $(round_ratios "shared_$b" "one_$b" "copies_$b" "one_$b")"; done
echo
echo "Where rank 0's step goes (microseconds per step, medians)"
echo
phases_header
for b in "${BATCHES[@]}"; do
  phases_rows "$b" "one_$b|1 rank" "shared_$b|2 ranks, one shared model" "copies_$b|2 ranks, a copy each" \
    "messages_$b|2 ranks, MPI messages, a copy each"
done
