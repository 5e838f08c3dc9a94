#!/usr/bin/env bash
# How far 2 ranks on this host can get at all (issue "Speed"): the program against a copy of it with
# every gradient collective taken out (bench/no_gradient_exchange.patch: no all-reduce of the whole
# tensors, no row-sparse exchange; the step agreement and the shared model's closing barrier stay),
# compared by bench/two_builds.sh. The copy is numerically wrong (each rank steps on its own
# gradient) and is for timing only: its 2 / 1 is what two ranks reach when exchanging gradients costs
# nothing, so what remains is the cost of running two ranks at once (the cores' shared caches and
# memory, and each step waiting for the slower rank). The gap between the two builds is all that
# exchanging gradients may cost.
# Usage: bench/comm_ceiling.sh [ROUNDS]   (default 6; after launch/setup.sh)
# Builds the patched copy of the working tree's tracked files in a temporary directory with the
# build's own options (about 2 minutes on 2 cores), then runs
# bench/two_builds.sh build/src/ectrain PATCHED ROUNDS (A: the program, B: no communication).
# Environment: ECTRAIN_BUILD_DIR (build), and those of bench/two_builds.sh. About 5 minutes.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}
BUILD=${ECTRAIN_BUILD_DIR:-build}
if [ ! -x "$BUILD/src/ectrain" ] || [ ! -f "$BUILD/CMakeCache.txt" ]; then
  echo "bench/comm_ceiling.sh: no build in $BUILD: run launch/setup.sh first" >&2
  exit 2
fi
bench_tmp ectrain_comm_ceiling  # TMP, removed on exit
WORK=$TMP
git ls-files -z | xargs -0 cp --parents -t "$WORK"
if ! patch -d "$WORK" -p1 --forward --quiet <bench/no_gradient_exchange.patch; then
  echo "bench/comm_ceiling.sh: bench/no_gradient_exchange.patch no longer applies to src/train/grad_sync.cc;" \
    "make it again from a copy of that file with its gradient collectives taken out (git diff)" >&2
  exit 1
fi
cached() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }  # cached NAME: the build's option
echo "building the copy without gradient communication in $WORK" >&2
cmake -S "$WORK" -B "$WORK/build" -DCMAKE_BUILD_TYPE="$(cached CMAKE_BUILD_TYPE)" \
  -DECTRAIN_ARCH="$(cached ECTRAIN_ARCH)" -DECTRAIN_BLAS="$(cached ECTRAIN_BLAS)" >/dev/null
cmake --build "$WORK/build" -j "$(nproc)" --target ectrain -- --no-print-directory >/dev/null
bench/two_builds.sh "$BUILD/src/ectrain" "$WORK/build/src/ectrain" "$ROUNDS"
