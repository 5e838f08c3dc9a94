#!/usr/bin/env bash
# The row-sharded table exchange alone (src/train/sharded_rows.h, issue 27; not yet wired into
# training): one step's Gather (ids to their owners, rows back) + ScatterAdd (gradient rows to their
# owners, summed there) for a table of 1,000,000 x 16 floats, 2 ranks, global steps of 256 and 4096
# Zipf(1.1) lookups split over the ranks (each rank exchanges its distinct ids). Two launches: mpirun
# -np 2 (processes; on one host the collectives go through the host segment) and 2 ranks as threads
# of one process. Prints build/bench/sharded_rows's table for each: medians over rounds of the
# slowest rank's microseconds per step, and the bytes a rank sends + receives per step, beside the
# bytes GradSync's replicated all-gather of the same gradient rows would move in backward.
# Usage: bench/sharded_rows.sh [ROUNDS]   (default 7; from anywhere, after launch/setup.sh)
# Environment: STEPS (300 per round), ROWS (1000000), COLS (16), IDS (256,4096). About 30 seconds.
# Each launch waits for a quiet machine and records the share of the cores others used during it
# (bench/lib.sh).
set -euo pipefail
QUIET_WAIT=${QUIET_WAIT:-30}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
STEPS=${STEPS:-300}
ROWS=${ROWS:-1000000}
COLS=${COLS:-16}
IDS=${IDS:-256,4096}
BUILD=${ECTRAIN_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_sharded_rows
cpu_cgroup
[ -x "$BUILD/bench/sharded_rows" ] || cmake --build "$BUILD" -j2 --target sharded_rows >"$TMP/build.log"
cp "$BUILD/bench/sharded_rows" "$TMP/sharded_rows"
ARGS=(--ids "$IDS" --rows "$ROWS" --cols "$COLS" --steps "$STEPS" --rounds "$ROUNDS")

echo "== mpirun -np 2 --bind-to none"
measured mpirun -np 2 --bind-to none "$TMP/sharded_rows" "${ARGS[@]}"
echo "(others' load during the run: $FOREIGN of all cores)"
echo "== 2 ranks as threads"
measured "$TMP/sharded_rows" --threads 2 "${ARGS[@]}"
echo "(others' load during the run: $FOREIGN of all cores)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
