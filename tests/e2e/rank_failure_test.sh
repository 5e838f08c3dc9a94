#!/usr/bin/env bash
# A rank that dies or hangs ends the job with a message instead of a hang (under mpirun):
#  - kill -9 of rank 1: mpirun ends the job and names the rank;
#  - SIGSTOP of rank 1 (a hung rank): rank 0's stall watchdog reports the collective it waits in
#    and aborts the job within comm.timeout_seconds, its message in the output every time.
# Usage: tests/e2e/rank_failure_test.sh path/to/ectrain   (from the repository top)
set -u
ECTRAIN=$(realpath "${1:?usage: rank_failure_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

"$ECTRAIN" prepare configs/quickstart.yaml --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" >/dev/null
LONG=(train configs/quickstart.yaml --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5"
      --set train.epochs=100000 --set eval.every_epochs=0 --set comm.timeout_seconds=3)

rank_pid() {  # rank_pid OUTPUT_DIR RANK: the process of that Open MPI rank
  for pid in $(pgrep -f "train.output_dir=$1"); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$pid"; return; }
  done
}
wait_for_step() { for _ in $(seq 200); do grep -q "first step done" "$1" 2>/dev/null && return; sleep 0.05; done; }

# run_and_break NAME ACTION PATTERN: start 2 ranks, do ACTION (a signal) to rank 1, expect the job to
# end non-zero within 30 s with output matching PATTERN.
run_and_break() {
  local name=$1 signal=$2 pattern=$3 out="$TMP/$1"
  timeout 60 mpirun --bind-to none -np 2 "$ECTRAIN" "${LONG[@]}" --set "train.output_dir=$out" >"$out.log" 2>&1 &
  local job=$!
  wait_for_step "$out.log"
  local pid
  pid=$(rank_pid "$out" 1)
  [ -n "$pid" ] || { fail "$name: rank 1 not found" "$out.log"; kill "$job"; return; }
  local start=$SECONDS
  kill "-$signal" "$pid"
  wait "$job"
  local rc=$? took=$((SECONDS - start))
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$took" -le 30 ] && grep -qE "$pattern" "$out.log"; then
    pass "$name: the job ended (status $rc) after $took s with a message"
  else
    fail "$name: status $rc after $took s, expected a non-zero end within 30 s matching /$pattern/" "$out.log"
  fi
}

run_and_break killed_rank KILL "rank 1"
# Three times: the watchdog's message must reach the output before the abort every time.
for attempt in 1 2 3; do
  run_and_break "hung_rank_$attempt" STOP "rank 0\] ERROR: stalled for [0-9]+ s in the .*another rank is not taking part"
done

finish rank-failure
