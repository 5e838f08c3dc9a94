#!/usr/bin/env bash
# The Slurm scripts against a real Slurm (tests/cluster/slurm_cluster.sh: slurmctld and two fake
# nodes, n1 and n2, on this machine), with the bundled quickstart data:
#   a) slurm/train.sbatch, 2 ranks on one node: the job completes with test AUC >= 0.90;
#   b) slurm/train_multinode.sbatch, one rank on each node: the same;
#   c) preemption: a longer job gets the time-limit warning (scancel --batch --signal=USR1), stops
#      with status 3 after a checkpoint and requeues itself; released, it resumes and ends with
#      exactly the parameters of an uninterrupted run (mpirun -np 2 outside Slurm);
#   d) slurm/train_gpu.sbatch on these GPU-less nodes: the GPU script reaches ectrain with
#      train.device=cuda through slurm/train.sbatch, and the job ends at once with the device error
#      (exit 2, not requeued). The GPU run itself: tests/gpu/device_checks.sh.
# Usage: tests/cluster/slurm_test.sh path/to/ectrain   (as root, from the top of the repository)
# Installs slurm-wlm and munge when missing; stops every daemon it started, whatever happens.
set -uo pipefail
ECTRAIN=$(realpath "${1:?usage: slurm_test.sh path/to/ectrain}")
export ECTRAIN  # the sbatch scripts read it; sbatch passes the environment on to the job
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d /tmp/ectrain_slurm.XXXXXX)
chmod 755 "$TMP"  # munged, which runs as the munge user, keeps its socket in there
CLUSTER=$TMP/cluster
export SLURM_CONF=$CLUSTER/slurm.conf
# Every wait below stops by this deadline, under CTest's TIMEOUT, so that cleanup always runs:
# a killed test would leave the daemons behind. A normal run takes under a minute.
DEADLINE=$((SECONDS + 240))
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -25; }
finish() {
  echo "$passed passed, $failed failed"
  exit $((failed > 0))
}

cleanup() {
  # Jobs first: their processes outlive slurmd. Every job in this private cluster is ours.
  if [ -f "$SLURM_CONF" ]; then
    scancel --quiet --user=root 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  tests/cluster/slurm_cluster.sh stop "$CLUSTER"
  rm -rf "$TMP"
}
trap cleanup EXIT

# budget N: N seconds, or what is left before DEADLINE if that is less (at least 1).
budget() {
  local left=$((DEADLINE - SECONDS))
  [ "$left" -lt 1 ] && left=1
  echo $(($1 < left ? $1 : left))
}
# Waits until job $1 has left the queue; returns 1 after $2 seconds.
wait_gone() {
  local deadline=$((SECONDS + $(budget "$2")))
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
job_field() { scontrol show job "$1" 2>/dev/null | grep -oE "\b$2=[^ ]+" | head -1 | cut -d= -f2; }
final_auc() { grep '"event":"done"' "$1/metrics.jsonl" 2>/dev/null | sed -E 's/.*"test":\{[^}]*"auc":([0-9.]+).*/\1/'; }
latest_ckpt() { echo "$1/checkpoints/$(cat "$1/checkpoints/latest" 2>/dev/null)"; }

if [ "$(id -u)" -ne 0 ]; then
  fail "the Slurm tests need root (they install and start slurmctld, slurmd and munged)"
  finish
fi
if ! timeout "$(budget 120)" tests/cluster/slurm_cluster.sh start "$CLUSTER" >"$TMP/cluster.log" 2>&1; then
  fail "start a Slurm cluster on localhost" "$TMP/cluster.log"
  finish
fi
pass "start a Slurm cluster on localhost (nodes $(sinfo -h -o %N))"

DATA=$TMP/data
SETS=(--set "data.train=$DATA/train.h5" --set "data.test=$DATA/test.h5")
if ! "$ECTRAIN" prepare configs/quickstart.yaml "${SETS[@]}" >"$TMP/prepare.log" 2>&1; then
  fail "prepare the quickstart data" "$TMP/prepare.log"
  finish
fi

# check_job NAME JOB RUN LOG: the job completed with exit 0 and a final test AUC >= 0.90.
check_job() {
  local name=$1 job=$2 run=$3 log=$4 state auc
  if ! wait_gone "$job" 120; then
    fail "$name: job $job still $(squeue -h -j "$job" -o %T), the test gave up waiting" "$log"
    return 1
  fi
  state=$(job_field "$job" JobState)
  auc=$(final_auc "$run")
  if [ "$state" != COMPLETED ] || [ "$(job_field "$job" ExitCode)" != 0:0 ]; then
    fail "$name: job $job ended $state, exit $(job_field "$job" ExitCode)" "$log"
  elif ! awk -v a="${auc:-0}" 'BEGIN { exit !(a >= 0.90) }'; then
    fail "$name: test AUC '$auc' >= 0.90" "$log"
  else
    pass "$name: job $job completed, test AUC $auc"
    return 0
  fi
  return 1
}

# --- a) one node, two ranks ---
RUN_A=$TMP/run_a
job=$(sbatch --parsable --output="$TMP/a.log" slurm/train.sbatch configs/quickstart.yaml "${SETS[@]}" \
      --set "train.output_dir=$RUN_A" 2>"$TMP/a.submit")
if [ -z "$job" ]; then
  fail "a) submit slurm/train.sbatch" "$TMP/a.submit"
elif check_job "a) slurm/train.sbatch, 2 ranks on one node" "$job" "$RUN_A" "$TMP/a.log"; then
  if grep -q '"world_size":2' "$RUN_A/metrics.jsonl"; then
    pass "a) the job ran 2 ranks"
  else
    fail "a) the job ran 2 ranks" "$TMP/a.log"
  fi
fi

# --- b) two nodes, one rank each, MPI traffic held to one subnet (the only one both fake nodes share
# for certain is loopback) ---
RUN_B=$TMP/run_b
job=$(ECTRAIN_TCP_CIDR=127.0.0.0/8 sbatch --parsable --output="$TMP/b.log" slurm/train_multinode.sbatch \
      configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$RUN_B" 2>"$TMP/b.submit")
if [ -z "$job" ]; then
  fail "b) submit slurm/train_multinode.sbatch" "$TMP/b.submit"
elif check_job "b) slurm/train_multinode.sbatch, 1 rank on each of 2 nodes" "$job" "$RUN_B" "$TMP/b.log"; then
  # Both fake nodes share one hostname; n2's slurmd log shows mpirun's daemon step started there.
  if [ "$(job_field "$job" NodeList)" = "n[1-2]" ] && grep -q '"world_size":2' "$RUN_B/metrics.jsonl" &&
     grep -qE "launch task StepId=$job\.0 " "$CLUSTER/slurmd-n2.log"; then
    pass "b) the ranks ran on n1 and n2 (Open MPI started its daemon on n2 through Slurm)"
  else
    fail "b) the ranks ran on n1 and n2 (nodes $(job_field "$job" NodeList))" "$CLUSTER/slurmd-n2.log"
  fi
  if grep -q "oob_tcp_if_include 127.0.0.0/8" "$TMP/b.log"; then
    pass "b) ECTRAIN_TCP_CIDR reached mpirun"
  else
    fail "b) ECTRAIN_TCP_CIDR reached mpirun" "$TMP/b.log"
  fi
fi

# --- c) warning signal, checkpoint, requeue, resume: same parameters as an uninterrupted run ---
# Long enough to be signalled mid-run at any speed this machine runs at (about 2k-8k steps/s).
LONG=(configs/quickstart.yaml "${SETS[@]}" --set train.epochs=300 --set train.global_batch_size=32
      --set train.max_steps=40000 --set checkpoint.every_steps=1000 --set eval.every_epochs=0)
RUN_C=$TMP/run_c
LOG_C=$TMP/c.log
c_ok=true
# --fresh applies to the first attempt only: the rerun must resume, not start over again.
job=$(sbatch --parsable --output="$LOG_C" slurm/train.sbatch "${LONG[@]}" --set "train.output_dir=$RUN_C" \
      --fresh 2>"$TMP/c.submit")
[ -n "$job" ] || { fail "c) submit the long job" "$TMP/c.submit"; c_ok=false; }

finished() { grep -q '"event":"done"' "$RUN_C/metrics.jsonl" 2>/dev/null; }
# Signal once the first periodic checkpoint shows that training is under way.
if $c_ok; then
  deadline=$((SECONDS + $(budget 90)))
  until [ -f "$RUN_C/checkpoints/latest" ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
  if [ "$(squeue -h -j "$job" -o %T 2>/dev/null)" != RUNNING ] || finished; then
    fail "c) the long job is still training when signalled (state '$(squeue -h -j "$job" -o %T 2>/dev/null)')" "$LOG_C"
    c_ok=false
  else
    scancel --batch --signal=USR1 "$job"
  fi
fi

# Exit 3 with a checkpoint, then back in the queue, pending (Slurm holds a requeued job 120 s).
if $c_ok; then
  deadline=$((SECONDS + $(budget 60)))
  until grep -q "ectrain exited with status" "$LOG_C" && [ "$(squeue -h -j "$job" -o %T)" = PENDING ] ||
        [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
  interrupted=$(cat "$RUN_C/checkpoints/latest" 2>/dev/null)
  if grep -q "ectrain exited with status 3" "$LOG_C" && grep -q "stopped by SIGUSR1" "$LOG_C" &&
     [ -n "$interrupted" ] && ! finished; then
    pass "c) USR1 to the batch script: the ranks wrote $interrupted and exited 3"
  else
    fail "c) USR1 to the batch script: checkpoint and exit 3 (latest '$interrupted')" "$LOG_C"
    c_ok=false
  fi
fi
if $c_ok; then
  if [ "$(squeue -h -j "$job" -o %T)" = PENDING ] && [ "$(job_field "$job" Restarts)" = 1 ]; then
    pass "c) the job requeued itself (pending, Restarts=1)"
  else
    fail "c) the job requeued itself (state '$(squeue -h -j "$job" -o %T)', Restarts=$(job_field "$job" Restarts))" "$LOG_C"
    c_ok=false
  fi
fi

# Released, the rerun resumes from that checkpoint and finishes. Not within the second of the
# requeue: slurmd revokes the old attempt's credential with a timestamp in seconds, and a rerun
# launched in that same second fails for good ("Job credential revoked").
if $c_ok; then
  sleep 2
  scontrol update jobid="$job" StartTime=now
  if ! wait_gone "$job" 120; then
    fail "c) the requeued job finishes (still $(squeue -h -j "$job" -o %T))" "$LOG_C"
    c_ok=false
  elif [ "$(job_field "$job" JobState)" = COMPLETED ] && grep -q "SLURM_RESTART_COUNT=1" "$LOG_C" &&
       grep -q "resuming from .*$interrupted" "$LOG_C" && finished; then
    pass "c) the rerun (SLURM_RESTART_COUNT=1, --fresh dropped) resumed from $interrupted and completed"
  else
    fail "c) the rerun resumed from $interrupted and completed (state $(job_field "$job" JobState))" "$LOG_C"
    c_ok=false
  fi
fi

# The reference: the same config uninterrupted, with the same number of ranks, outside Slurm.
if $c_ok; then
  RUN_REF=$TMP/run_ref
  if ! timeout "$(budget 120)" mpirun -np 2 --oversubscribe --bind-to none "$ECTRAIN" train "${LONG[@]}" \
       --set "train.output_dir=$RUN_REF" >"$TMP/ref.log" 2>&1; then
    fail "c) the uninterrupted reference run (mpirun -np 2)" "$TMP/ref.log"
  elif h5diff -r "$(latest_ckpt "$RUN_C")" "$(latest_ckpt "$RUN_REF")" /params /params >"$TMP/h5diff.log" 2>&1; then
    pass "c) interrupted + resumed run ends with the same /params as the uninterrupted run ($(cat "$RUN_C/checkpoints/latest"))"
  else
    fail "c) interrupted + resumed run ends with the same /params as the uninterrupted run" "$TMP/h5diff.log"
  fi
fi

# --- d) the GPU script on nodes without GPUs (its own GPU and task counts overridden) ---
RUN_D=$TMP/run_d
job=$(sbatch --parsable --output="$TMP/d.log" --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 \
      slurm/train_gpu.sbatch configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$RUN_D" 2>"$TMP/d.submit")
if [ -z "$job" ]; then
  fail "d) submit slurm/train_gpu.sbatch" "$TMP/d.submit"
elif ! wait_gone "$job" 60; then
  fail "d) slurm/train_gpu.sbatch without GPUs: job $job still $(squeue -h -j "$job" -o %T)" "$TMP/d.log"
elif [ "$(job_field "$job" ExitCode)" = 2:0 ] && [ "$(job_field "$job" Restarts)" = 0 ] &&
     grep -q "train.device\|GPU" "$TMP/d.log"; then
  pass "d) slurm/train_gpu.sbatch without GPUs: job $job ended with the device error (exit 2), not requeued"
else
  fail "d) slurm/train_gpu.sbatch without GPUs: exit 2 with the device error (exit $(job_field "$job" ExitCode))" "$TMP/d.log"
fi

finish
