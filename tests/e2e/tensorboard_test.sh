#!/usr/bin/env bash
# train.tensorboard: the event files in <run>/tensorboard, read with the tensorboard package's own
# reader, hold what metrics.jsonl holds (the step lines' loss, rate, throughput and data wait; the
# epoch, eval and best lines) at the same steps, and the configuration as text. A run resumed from an
# older checkpoint than the newest (as after a kill) writes a second file whose steps continue from
# that checkpoint, and TensorBoard drops what the first file logged after it. With mpirun only rank 0
# writes; a folder in the way is an error naming it.
# Usage: tests/e2e/tensorboard_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: tensorboard_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
need_python_modules tensorboard

"$ECTRAIN" generate --out "$TMP/gen/train.h5" --rows 20000 --validation-rows 4000 --test-rows 4000 --users 500 \
  --items 200 --categories 10 --dense 2 --scale-dense --seed 5 >"$TMP/generate.log" 2>&1 ||
  fail "generate click data" "$TMP/generate.log"
cat >"$TMP/run.yaml" <<YAML
data: {train: $TMP/gen/train.h5, validation: $TMP/gen/validation.h5, test: $TMP/gen/test.h5, label: clicked,
       categorical: [user, item, category], dense: [d0, d1]}
model: {type: mlp, embedding_dim: 8, hidden_units: [16]}
train: {global_batch_size: 256, epochs: 2, log_every_steps: 10, tensorboard: true, seed: 1}
checkpoint: {every_steps: 50, keep_last: 5, keep_best: auc}
YAML
# 79 steps an epoch: the first run stops at step 100 (checkpoints at 50, 79 and 100).
expect_exit "train with train.tensorboard: true up to step 100" 0 "TensorBoard events in $TMP/run/tensorboard/" -- \
  "$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/run" --set train.max_steps=100

# check_events RUN RESUMED_STEP: the folder, read as TensorBoard reads it, against metrics.jsonl,
# whose lines of the first run after RESUMED_STEP (if any) the second run replaced.
check_events() {
  "$PY" - "$@" <<'PY'
import glob, json, math, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
run, resumed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None
lines = [json.loads(l) for l in open(run + "/metrics.jsonl")]
starts = [i for i, l in enumerate(lines) if l["event"] == "start"] + [len(lines)]
runs = [lines[a:b] for a, b in zip(starts, starts[1:])]
kept = runs[0] if resumed is None else [l for l in runs[0] if l.get("step", 0) <= resumed] + runs[1]
acc = EventAccumulator(run + "/tensorboard", size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()

def expect(tag, event, value):
    want = [(l["step"], l["time"], value(l)) for l in kept if l["event"] == event and value(l) is not None]
    assert want, (tag, "no lines")
    got = [(e.step, e.wall_time, e.value) for e in acc.Scalars(tag)]
    assert [(s, t) for s, t, _ in got] == [(s, t) for s, t, _ in want], (tag, got, want)
    for (step, _, g), (_, _, w) in zip(got, want):  # float32 in the events
        assert math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-30), (tag, step, g, w)
    return [s for s, _, _ in got]

steps = expect("train/loss", "step", lambda l: l["train_loss"])
assert steps == sorted(set(steps)) and steps == list(range(10, steps[-1] + 1, 10)), steps
for key in ("learning_rate", "samples_per_second", "data_wait_seconds"):
    expect("train/" + key, "step", lambda l: l[key])
for key in ("train_loss", "samples_per_second", "data_wait_seconds"):
    expect("epoch/" + key, "epoch", lambda l: l[key])
for key in ("auc", "log_loss", "accuracy"):
    expect("validation/" + key, "eval", lambda l: l["validation"][key])
    # The resumed run keeps a best checkpoint only if it beats step 79's.
    if resumed is None or any(l["event"] == "best" for l in kept):
        expect("best/test/" + key, "best", lambda l: l["test"][key])
        expect("best/validation/" + key, "best", lambda l: l["validation"][key])
assert "config" in acc.PluginTagToContent("text"), acc.Tags()
configs = acc.Tensors("config")
text = configs[-1].tensor_proto.string_val[0].decode()
assert "    train:" in text and "tensorboard: true" in text, text
print("last step", steps[-1], "files", len(glob.glob(run + "/tensorboard/events.out.tfevents.*")))
PY
}
if check_events "$TMP/run" >"$TMP/check.log" 2>&1 && grep -q "last step 100 files 1" "$TMP/check.log"; then
  pass "the events hold metrics.jsonl's step, epoch, eval and best values at their steps, and the configuration"
else
  fail "the events against metrics.jsonl" "$TMP/check.log"
fi

# As if the run had been killed after step 100 before its checkpoint: it resumes from step 79.
rm "$TMP/run/checkpoints/ckpt-000000100.h5"
expect_exit "resume from step 79 with train.tensorboard" 0 "resuming from .*ckpt-000000079.h5" -- \
  "$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/run"
if check_events "$TMP/run" 79 >"$TMP/check.log" 2>&1 && grep -q "last step 150 files 2" "$TMP/check.log"; then
  pass "resumed: a second file; the folder reads as metrics.jsonl with steps after 79 from the resumed run"
else
  fail "the resumed run's events" "$TMP/check.log"
fi
# The second file alone: its restart at step 80, the configuration at 79, then steps from 80 on.
"$PY" - "$TMP/run/tensorboard" >"$TMP/second.log" 2>&1 <<'PY' && pass "the resumed run's file starts at the checkpoint's step" ||
import glob, sys
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
files = sorted(glob.glob(sys.argv[1] + "/events.out.tfevents.*"))
events = list(LegacyEventFileLoader(files[1]).Load())
assert events[0].file_version == "brain.Event:2", events[0]
assert events[1].session_log.status == events[1].session_log.START and events[1].step == 80, events[1]
assert events[2].summary.value[0].tag == "config" and events[2].step == 79, events[2]
scalar_steps = [e.step for e in events[3:] if e.summary.value]
assert scalar_steps[0] == 80 and scalar_steps == sorted(scalar_steps), scalar_steps
PY
  fail "the resumed run's file" "$TMP/second.log"

# mpirun -np 2: one file, from rank 0.
expect_exit "train.tensorboard under mpirun -np 2" 0 "done:" -- mpirun --bind-to none -np 2 \
  "$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/mpi" --set train.max_steps=20
[ "$(ls "$TMP/mpi/tensorboard" | wc -l)" -eq 1 ] && pass "one event file under mpirun -np 2" ||
  fail "one event file under mpirun -np 2: $(ls "$TMP/mpi/tensorboard")"

# Off by default; a file where the folder goes is an error naming it, with the reason.
expect_exit "train without train.tensorboard" 0 "done:" -- \
  "$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/off" --set train.tensorboard=false --set train.max_steps=10
[ ! -e "$TMP/off/tensorboard" ] && pass "no tensorboard folder without train.tensorboard" ||
  fail "a tensorboard folder was written without train.tensorboard"
mkdir -p "$TMP/blocked" && echo "in the way" >"$TMP/blocked/tensorboard"
expect_exit "a file in the way of the tensorboard folder" 1 \
  "train.tensorboard: cannot create the folder $TMP/blocked/tensorboard: Not a directory" -- \
  "$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/blocked" --set train.max_steps=10
finish tensorboard
