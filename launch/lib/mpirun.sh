# launch/lib/mpirun.sh, sourced by launch/mpirun.sh, launch/quickstart.sh and slurm/*.sbatch:
# runs mpirun so that a stop request keeps the run's progress (and terminal_progress below). Open MPI 4.1's mpirun forwards SIGUSR1 to every rank and waits
# for them (they agree to stop, rank 0 writes a checkpoint, all exit 3), but on SIGTERM or SIGINT
# it kills the ranks moments after passing the signal on, and exits 1 with the checkpoint perhaps
# unfinished. So SIGTERM, SIGINT and SIGUSR1 to the calling script become SIGUSR1 to mpirun; a
# second SIGTERM or SIGINT stops at once (SIGTERM to mpirun, no checkpoint).

# run_mpirun ARGS...: runs `mpirun ARGS...` in the background and waits for it; its exit status
# is mpirun's (3 after a stop request: run the same command again to resume).
run_mpirun() {
  MPIRUN_PID=""
  MPIRUN_STOPS=0
  trap 'mpirun_stop USR1' USR1
  trap 'mpirun_stop TERM' TERM
  trap 'mpirun_stop INT' INT
  echo "+ mpirun $*" >&2
  mpirun "$@" &
  MPIRUN_PID=$!
  # bash runs a trap only between commands or in `wait`, and a trapped signal ends `wait` early
  # (status > 128): wait again until mpirun itself has exited.
  local rc=0
  wait "$MPIRUN_PID" || rc=$?
  while kill -0 "$MPIRUN_PID" 2>/dev/null; do
    rc=0
    wait "$MPIRUN_PID" || rc=$?
  done
  trap - USR1 TERM INT
  return "$rc"
}

# terminal_progress: where this script's stderr is a terminal, rank 0 draws its live progress bar
# there: sets TRAIN_PROGRESS_ARGS (for `ectrain train`: train.progress=live; the ranks' own stderr is
# a pipe into mpirun, and rank 0 may run on another host) and MPIRUN_PROGRESS_ARGS (for mpirun: the
# terminal's width as COLUMNS, passed to remote ranks too). Both empty otherwise.
# shellcheck disable=SC2034  # the arrays are for the script that sources this file
terminal_progress() {
  TRAIN_PROGRESS_ARGS=()
  MPIRUN_PROGRESS_ARGS=()
  [ -t 2 ] || return 0
  TRAIN_PROGRESS_ARGS=(--set train.progress=live)
  local size
  size=$(stty size 0<&2 2>/dev/null) || return 0
  export COLUMNS=${size#* }
  MPIRUN_PROGRESS_ARGS=(-x COLUMNS)
}

mpirun_stop() {
  [ -n "$MPIRUN_PID" ] || return 0
  if [ "$1" != USR1 ] && [ "$MPIRUN_STOPS" -gt 0 ]; then
    echo "$(date '+%F %T') ectrain: second SIG$1: stopping at once, without a checkpoint" >&2
    kill -TERM "$MPIRUN_PID" 2>/dev/null || true
    return 0
  fi
  [ "$1" != USR1 ] && MPIRUN_STOPS=$((MPIRUN_STOPS + 1))
  echo "$(date '+%F %T') ectrain: SIG$1 received; asking the ranks to checkpoint and stop (exit status 3)" >&2
  kill -USR1 "$MPIRUN_PID" 2>/dev/null || true
}
