#!/usr/bin/env bash
# Installs and builds like launch/setup.sh, then runs the whole test suite (unit, communicator
# contract under mpiexec -n 2 and -n 4, world-size equivalence, end to end on the real data).
#
# Usage: launch/test.sh [CTEST_ARGUMENTS ...]    (extra arguments go to ctest, for example -R config)
#        launch/test.sh --help                   (or -h: this text; installs and builds nothing)
#
# Environment: ECTRAIN_BUILD_DIR (default build), and launch/setup.sh's ECTRAIN_ARCH and ECTRAIN_BLAS.
set -euo pipefail
# --help prints the comment above (without its '# ') and exits, before anything is installed or built.
case ${1:-} in -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
./launch/setup.sh
cd "${ECTRAIN_BUILD_DIR:-build}"
ctest -j "$(nproc)" --output-on-failure --timeout 600 "$@"
