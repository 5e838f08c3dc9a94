#!/usr/bin/env bash
# Installs and builds like launch/setup.sh, then runs the whole test suite (unit, communicator
# contract under mpiexec -n 2 and -n 4, world-size equivalence, end to end on the real data).
# Extra arguments go to ctest (for example -R config).
set -euo pipefail
cd "$(dirname "$0")/.."
./launch/setup.sh
cd "${ECTRAIN_BUILD_DIR:-build}"
ctest -j "$(nproc)" --output-on-failure --timeout 600 "$@"
