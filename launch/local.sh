#!/usr/bin/env bash
# Trains in one process, without mpirun or MPI: the simplest thing to debug.
#
# Usage: launch/local.sh CONFIG [--set section.key=value ...]
#        launch/local.sh --help     (or -h: this text)
#
# Runs `ectrain train CONFIG ... --set comm.backend=local`: the same training as N ranks with the
# same train.global_batch_size (the data order does not depend on the number of ranks), in a
# process that a debugger or profiler sees whole. Stop it with Ctrl-C (checkpoint at the next step,
# exit 3; the same command resumes); a second Ctrl-C stops at once.
# Environment:
#   ECTRAIN   the program (default: build/src/ectrain in this checkout)
#   WRAPPER   a command to run it under, for example
#               WRAPPER="gdb -ex run --args" launch/local.sh configs/quickstart.yaml
#               WRAPPER="valgrind --error-exitcode=1" launch/local.sh configs/quickstart.yaml
#             For readable stacks build without optimisation first:
#               cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug && cmake --build build-debug -j
#               ECTRAIN=build-debug/src/ectrain WRAPPER="gdb -ex run --args" launch/local.sh CONFIG
#             In gdb, `handle SIGUSR1 nostop noprint pass` lets the checkpoint signal through.
set -euo pipefail
# --help prints the comment above (without its '# '); a missing CONFIG, its Usage line.
case ${1:-} in -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
[ $# -ge 1 ] || { sed -n 's/^# Usage: /usage: /p' "$0" >&2; exit 2; }
ECTRAIN=${ECTRAIN:-$(dirname "$0")/../build/src/ectrain}
[ -x "$ECTRAIN" ] || { echo "local.sh: no program at $ECTRAIN (run launch/setup.sh, or set ECTRAIN)" >&2; exit 2; }
config=$1
shift
# shellcheck disable=SC2086  # WRAPPER is a command line: split it into words
exec ${WRAPPER:-} "$ECTRAIN" train "$config" --set comm.backend=local "$@"
