#!/usr/bin/env bash
# How far 2 ranks on this host can get at all (issue "Speed"): the program against itself with
# every gradient collective taken out (ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1, src/comm/
# no_gradient_exchange.h: no all-reduce of the whole tensors, no row-sparse exchange; the step
# agreement and the shared model's closing barrier stay), compared by bench/two_builds.sh. That
# mode is numerically wrong (each rank steps on its own gradient; the program warns so) and is for
# timing only: its 2 / 1 is what two ranks reach when exchanging gradients costs nothing, so what
# remains is the cost of running two ranks at once (the cores' shared caches and memory, and each
# step waiting for the slower rank). The gap between the two is all that exchanging gradients may
# cost.
# Usage: bench/comm_ceiling.sh [ROUNDS]   (default 6; after launch/setup.sh)
# Runs bench/two_builds.sh build/src/ectrain build/src/ectrain ROUNDS with
# B_ENV=ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1 (A: the program, B: the same program, no exchange).
# Environment: ECTRAIN_BUILD_DIR (build), and those of bench/two_builds.sh. About 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
BUILD=${ECTRAIN_BUILD_DIR:-build}
if [ ! -x "$BUILD/src/ectrain" ]; then
  echo "bench/comm_ceiling.sh: no build in $BUILD: run launch/setup.sh first" >&2
  exit 2
fi
B_ENV=ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1 exec bench/two_builds.sh "$BUILD/src/ectrain" "$BUILD/src/ectrain" "$ROUNDS"
