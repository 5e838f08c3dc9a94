#!/usr/bin/env bash
# kill -9 of rank 0 while it writes checkpoints never leaves a broken `latest`: a model with a
# 300,000-row embedding checkpoints every step (writing dominates the run), rank 0 is killed at
# varied moments, and after each kill the checkpoint `latest` names must load and evaluate.
# Finally the job resumes from it and finishes.
# Usage: tests/e2e/kill_during_checkpoint_test.sh path/to/ectrain   (from the repository top)
set -u
ECTRAIN=$(realpath "${1:?usage: kill_during_checkpoint_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(11); print "x1,x2,user,clicked";
  for (i = 0; i < 300000; i++) { x = rand() * 2 - 1; printf "%.4f,%.4f,u%d,%d\n", x, rand(), i, (rand() < 1 / (1 + exp(-2 * x))) } }' \
  >"$TMP/users.csv"
"$ECTRAIN" prepare --source "$TMP/users.csv" --label clicked --dense x1,x2 --categorical user \
  --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.01 >/dev/null || { echo "FAIL: prepare"; exit 1; }
cat >"$TMP/config.yaml" <<YAML
data: {train: $TMP/train.h5, test: $TMP/test.h5, label: clicked, dense: [x1, x2], categorical: [user]}
model: {embedding_dim: 16, hidden_units: [16]}
train: {epochs: 1, global_batch_size: 1024, output_dir: $TMP/run, log_every_steps: 1000}
eval: {every_epochs: 0}
checkpoint: {every_steps: 1, keep_last: 2}
YAML

rank0_pid() {  # the process whose Open MPI rank is 0
  for pid in $(pgrep -f "$ECTRAIN train $TMP/config.yaml"); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && { echo "$pid"; return; }
  done
}

# Each round starts the job (resuming from the last round's checkpoint), waits for a new checkpoint
# so that writes are under way, then kills rank 0 a little later: mid-write or between writes.
for offset in 0 0.05 0.1 0.2 0.3; do
  before=$(cat "$TMP/run/checkpoints/latest" 2>/dev/null)
  timeout 120 mpirun --bind-to none -np 2 "$ECTRAIN" train "$TMP/config.yaml" >"$TMP/job.log" 2>&1 &
  job=$!
  for _ in $(seq 300); do
    now=$(cat "$TMP/run/checkpoints/latest" 2>/dev/null)
    [ -n "$now" ] && [ "$now" != "$before" ] && break
    sleep 0.05
  done
  sleep "$offset"
  pid=$(rank0_pid)
  if [ -z "$pid" ]; then
    wait "$job"
    fail "rank 0 still running when killed (offset ${offset} s)" "$TMP/job.log"
    continue
  fi
  kill -9 "$pid"
  wait "$job"
  latest=$(cat "$TMP/run/checkpoints/latest")
  if "$ECTRAIN" eval --checkpoint "$TMP/run/checkpoints" >"$TMP/eval.log" 2>&1; then
    pass "rank 0 killed ${offset} s after a checkpoint: latest ($latest) loads and evaluates"
  else
    fail "rank 0 killed ${offset} s after a checkpoint: latest ($latest) loads and evaluates" "$TMP/eval.log"
  fi
done
ls -a "$TMP/run/checkpoints" | grep -q '\.tmp$' && echo "note: a killed write left its temporary file; the next save removes it"

if timeout 300 mpirun --bind-to none -np 2 "$ECTRAIN" train "$TMP/config.yaml" --set checkpoint.every_steps=0 \
    >"$TMP/final.log" 2>&1 && grep -q "resuming from" "$TMP/final.log" && grep -q '"event":"done"' "$TMP/run/metrics.jsonl"; then
  pass "the job resumes from the surviving checkpoint and finishes"
else
  fail "the job resumes from the surviving checkpoint and finishes" "$TMP/final.log"
fi
ls -a "$TMP/run/checkpoints" | grep -q '\.tmp$' && fail "temporary files are cleaned up by the next save" ||
  pass "temporary files are cleaned up by the next save"

finish kill-during-checkpoint
