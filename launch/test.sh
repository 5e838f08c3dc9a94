#!/usr/bin/env bash
# Installs and builds like launch/setup.sh, then runs the whole test suite (unit, communicator
# contract under mpiexec -n 2 and -n 4, world-size equivalence, end to end on the real data).
# Tests of data sets that may not be bundled (MovieLens, Taobao) run where the set was fetched
# (datasets/<name>/fetch.sh) or ECTRAIN_DATASETS names a folder holding it; elsewhere ctest counts
# them as skipped, and the end of the output lists them with the reason.
#
# Usage: launch/test.sh [CTEST_ARGUMENTS ...]    (extra arguments go to ctest, for example -R config)
#        launch/test.sh --help                   (or -h: this text; installs and builds nothing)
#
# Environment: ECTRAIN_BUILD_DIR (default build), ECTRAIN_DATASETS (an absolute path: a folder with
# ml-100k/, taobao-userbehavior-prefix/, ...), and launch/setup.sh's ECTRAIN_ARCH and ECTRAIN_BLAS.
set -euo pipefail
# --help prints the comment above (without its '# ') and exits, before anything is installed or built.
case ${1:-} in -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
# What only the tests need: clang-format (the format check), zip and unzip (the fetch scripts' tests),
# python3 (end-to-end checks read metrics.jsonl with it) and python3-venv (the readers the tests check
# our files with: tensorboard, onnxruntime; tests/requirements.txt), chromium (opens `ectrain report`'s HTML).
TEST_PACKAGES=(clang-format zip unzip python3 python3-venv chromium)
missing=()
for p in "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "test: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
./launch/setup.sh
# The Python packages of tests/requirements.txt, from PyPI, in BUILD/test-venv. Without network the
# tests that need them are counted as skipped and say so.
venv="${ECTRAIN_BUILD_DIR:-build}/test-venv"
if [ ! -f "$venv/requirements.done" ] || ! cmp -s tests/requirements.txt "$venv/requirements.done"; then
  python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt &&
    cp tests/requirements.txt "$venv/requirements.done" ||
    echo "test: could not install tests/requirements.txt into $venv; the tests that need it will be skipped"
fi
cd "${ECTRAIN_BUILD_DIR:-build}"
status=0
ctest -j "$(nproc)" --output-on-failure --timeout 600 "$@" || status=$?
# Each skipped test printed why ("SKIPPED: <test>: needs ..."); ctest lists only their names.
skipped=$(grep -ho '^SKIPPED: .*' Testing/Temporary/LastTest*.log 2>/dev/null | sort -u || true)
if [ -n "$skipped" ]; then
  echo
  echo "Skipped for data that is not here (see README, \"Data sets\"):"
  echo "$skipped" | sed 's/^SKIPPED: /  /'
fi
exit "$status"
