#!/usr/bin/env bash
# Bytes moved per step for a large embedding table, row-sparse vs dense exchange: 2 ranks (mpirun,
# shared memory), global batch 4096, one categorical column of about 1 million ids (embedding width
# 32: a 128 MB table) + 2 dense columns -> 64 -> 32 -> 1, Adam. comm.sparse_embeddings=true sends
# each rank's touched rows (ids + rows, all-gather-v) and updates them lazily; false all-reduces
# the whole table and updates it densely. Reports sync_bytes_per_step (the gradient payload a rank
# hands to the communicator in a step), their ratio, and the step time (step loop / steps).
# The two variants alternate round by round; medians. The ratio is the median of per-round ratios.
# Usage: bench/sparse_bytes.sh [ROUNDS]   (default 3; from anywhere, after launch/setup.sh)
# Sizes (environment): IDS (1000000 distinct ids), ROWS (1100000 generated rows), DIM (32),
# BATCH (4096, global), STEPS (20). About 1.5 minutes with the defaults on a 2-core machine.
# Each run waits for a quiet machine and is repeated when other processes were busy during it
# (NOISE_LIMIT, TRIES, QUIET_WAIT: see bench/lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
IDS=${IDS:-1000000}
ROWS=${ROWS:-1100000}
DIM=${DIM:-32}
BATCH=${BATCH:-4096}
STEPS=${STEPS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_sparse
private_ectrain
cpu_cgroup

# Every id once (ids 0..IDS-1 in order), then ROWS-IDS rows of random ids: about IDS distinct ids
# in the training split. The label depends on x1 only; this measures bytes and time, not accuracy.
awk -v n="$ROWS" -v ids="$IDS" 'BEGIN { srand(5); print "x1,x2,item,clicked";
  for (i = 0; i < n; i++) { x = rand() * 2 - 1; id = i < ids ? i : int(rand() * ids);
    printf "%.4f,%.4f,i%d,%d\n", x, rand(), id, (rand() < 1 / (1 + exp(-2 * x))) } }' >"$TMP/items.csv"
"$ECTRAIN" prepare --source "$TMP/items.csv" --label clicked --dense x1,x2 --categorical item \
  --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.001 >/dev/null
rm "$TMP/items.csv"

run() {  # run ROUND SPARSE(true|false)
  local round=$1 sparse=$2
  train_measured "$TMP/${sparse}_$round" mpirun -np 2 --bind-to none "$ECTRAIN" train configs/quickstart.yaml \
    --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" --set data.label=clicked \
    --set 'data.dense=[x1, x2]' --set 'data.categorical=[item]' --set model.embedding_dim="$DIM" \
    --set train.global_batch_size="$BATCH" --set train.max_steps="$STEPS" --set comm.sparse_embeddings="$sparse" \
    --set eval.every_epochs=0 --set checkpoint.every_steps=0
  local dir=$RUN_DIR m=$RUN_DIR/metrics.jsonl
  # round bytes/step step_ms samples/s exposed_ms_per_step foreign_load
  echo "$round $(field "$m" sync_bytes_per_step) $(awk -v t="$(field "$m" train_seconds)" -v s="$(field "$m" steps)" \
    -v e="$(field "$m" sync_exposed_seconds)" 'BEGIN { printf "%.3f %.3f", t / s * 1000, e / s * 1000 }')" \
    "$(field "$m" samples_per_second) $FOREIGN" >>"$TMP/$sparse.txt"
  grep -m1 -oE "parameters [0-9]+" "$dir.log" | cut -d' ' -f2 >"$TMP/params"
  grep -m1 -oE "row-sparse embedding tables [0-9]+" "$dir.log" | grep -oE '[0-9]+$' >"$TMP/$sparse.tables"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2034  # used by in_rounds
CONFIGS=(true false)
in_rounds "$ROUNDS" run
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

params=$(cat "$TMP/params")
# The table is the model's parameters less the MLP's: (2 + DIM) * 64 + 64 + 64 * 32 + 32 + 32 + 1.
table_rows=$(( (params - ((2 + DIM) * 64 + 64 + 64 * 32 + 32 + 32 + 1)) / DIM ))
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME");" \
  "Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$'), 2 ranks, shared memory, --bind-to none; $(date -u +%F)"
echo "program: $(git describe --always --dirty 2>/dev/null || echo unknown); rounds: $ROUNDS (medians); load average before/after: $load_before / $load_after"
foreign_summary 6 "$TMP"/true.txt "$TMP"/false.txt
echo "model: $params parameters, embedding table $table_rows x $DIM ($(awk -v r="$table_rows" -v d="$DIM" 'BEGIN { printf "%.1f", r * d * 4 / 1e6 }') MB)," \
  "global batch $BATCH ($((BATCH / 2)) rows per rank), $STEPS steps per run"
echo
echo "| comm.sparse_embeddings | row-sparse tables | sync bytes/step/rank | bytes vs sparse | step time (ms) | sync exposed per step (ms) | samples/s |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
bytes_ratio=$(ratio false true 2)
time_ratio=$(ratio false true 3)
for sparse in true false; do
  printf '| %s | %s | %s | %s | %.1f | %.1f | %.0f |\n' "$sparse" "$(cat "$TMP/$sparse.tables")" "$(col "$sparse" 2)" \
    "$([ "$sparse" = true ] && echo 1x || printf '%.0fx' "$bytes_ratio")" "$(col "$sparse" 3)" "$(col "$sparse" 4)" "$(col "$sparse" 5)"
done
echo
echo "step time dense / sparse (median of per-round ratios): $(printf '%.1f' "$time_ratio")"
echo "per run (round: bytes/step, step ms, exposed ms/step, foreign load):"
for sparse in true false; do
  echo "  sparse=$sparse: $(awk '{ printf "%s: %s %.1f %.1f %.2f; ", $1, $2, $3, $4, $6 }' "$TMP/$sparse.txt")"
done
