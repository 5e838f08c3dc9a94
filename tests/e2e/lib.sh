# Shared by the end-to-end scripts: source it after setting ECTRAIN. Gives $TMP (removed on
# exit, with any process still using it), pass/fail counters, and `finish` (the closing line).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
TMP=$(mktemp -d "/tmp/ectrain_$(basename "$0" .sh).XXXXXX")
trap 'pkill -CONT -f "$TMP" 2>/dev/null; pkill -9 -f "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
# fail MESSAGE [LOG]: also shows the end of LOG.
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && tail -20 "$2" | sed 's/^/    /'; }
# finish NAME: "NAME: N passed, M failed", and the exit status.
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# expect_exit NAME CODE PATTERN -- COMMAND...: the command exits with CODE and its output matches
# PATTERN; its output stays in $LAST_LOG.
expect_exit() {
  local name=$1 code=$2 pattern=$3
  shift 4
  local log="$TMP/log.$passed.$failed"
  LAST_LOG=$log
  timeout 300 "$@" >"$log" 2>&1
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "$name (exit $rc, expected $code)" "$log"
  elif ! grep -qE -- "$pattern" "$log"; then
    fail "$name (output lacks /$pattern/)" "$log"
  else
    pass "$name"
  fi
}

# need_dataset NAME FILE: sets DATASET_DIR to the folder of the fetched data set NAME (one that
# holds FILE), from $ECTRAIN_DATASETS/NAME or datasets/NAME; where it is absent, the script ends as
# skipped (status 77, which ctest counts as skipped) saying what it needs; TEST_NAME (set by
# tests/CMakeLists.txt) names the test in that line.
need_dataset() {
  local name=$1 file=$2 base
  for base in ${ECTRAIN_DATASETS:+"$ECTRAIN_DATASETS"} datasets; do
    if [ -f "$base/$name/$file" ]; then
      DATASET_DIR=$(cd "$base/$name" && pwd)
      return 0
    fi
  done
  echo "SKIPPED: ${TEST_NAME:-$(basename "$0" .sh)}: needs $name, see datasets/$name/fetch.sh (or set ECTRAIN_DATASETS to a folder holding $name/)"
  exit 77
}

# need_python_modules MODULE...: sets PY to the Python of the test venv (launch/test.sh installs
# tests/requirements.txt there; ECTRAIN_TEST_PYTHON names it) when it imports every MODULE; where
# one is missing, the script ends as skipped saying which.
need_python_modules() {
  PY=${ECTRAIN_TEST_PYTHON:-build/test-venv/bin/python}
  local module
  for module in "$@"; do
    if ! "$PY" -c "import $module" 2>/dev/null; then
      echo "SKIPPED: ${TEST_NAME:-$(basename "$0" .sh)}: needs the Python module $module in $PY (launch/test.sh installs tests/requirements.txt there)"
      exit 77
    fi
  done
}
