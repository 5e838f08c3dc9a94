#!/usr/bin/env bash
# End-to-end quality on sparse click data whose true model is known (`ectrain generate`: per-user and
# per-item factors, categories, Zipf activity): configs/click_logs.yaml, adapted by setting only the
# data keys, beats logistic regression (FTRL) and a plain mf on the same split, choosing on the
# validation rows; every model type's first validation log-loss is below the constant predictor's;
# and click_logs.yaml prepares and trains a CSV click log as it is meant to be adapted. On the way: the
# plateau schedule (and its exact resume), and `eval`/`inspect` of the checkpoints these runs leave.
# Usage: tests/e2e/click_quality_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: click_quality_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

"$ECTRAIN" generate --out "$TMP/gen/train.h5" --rows 300000 --validation-rows 40000 --test-rows 40000 \
  --users 20000 --items 5000 --categories 100 --dense 3 --scale-dense --recent-items 0 --seed 3 \
  >"$TMP/generate.log" 2>&1 || fail "generate click data" "$TMP/generate.log"
DATA=(--set data.train="$TMP/gen/train.h5" --set data.validation="$TMP/gen/validation.h5"
  --set data.test="$TMP/gen/test.h5" --set data.label=clicked --set "data.categorical=[user, item, category]"
  --set "data.dense=[d0, d1, d2]" --set data.user_column=user --set data.item_column=item)

# train NAME CONFIG [--set ...]: trains into $TMP/NAME; its metrics in $TMP/NAME/metrics.jsonl.
train() {
  local name=$1 config=$2
  shift 2
  "$ECTRAIN" train "$config" "${DATA[@]}" --set train.output_dir="$TMP/$name" --set train.epochs=4 "$@" \
    >"$TMP/$name.log" 2>&1 || fail "$name trains" "$TMP/$name.log"
}
# figure NAME WHAT: "test_auc" (the final test AUC) or "first_val_ll" (the first validation log-loss).
figure() {
  python3 - "$TMP/$1/metrics.jsonl" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
evals = [l for l in lines if l.get("event") == "eval"]
done = [l for l in lines if l.get("event") == "done"][-1]
print(done["test"]["auc"] if sys.argv[2] == "test_auc" else evals[0]["validation"]["log_loss"])
PY
}
cat >"$TMP/plain.yaml" <<YAML
train: {global_batch_size: 1024, seed: 1}
eval: {every_epochs: 1, early_stopping_patience: 2}
checkpoint: {keep_best: log_loss}
YAML
train click_logs configs/click_logs.yaml
train logistic "$TMP/plain.yaml" --set model.type=logistic --set optimizer.type=ftrl
train mf_plain "$TMP/plain.yaml" --set model.type=mf
train mlp "$TMP/plain.yaml" --set model.type=mlp
train deepfm "$TMP/plain.yaml" --set model.type=deepfm

# The constant predictor's log-loss on the validation rows: -(p log p + (1 - p) log(1 - p)).
constant=$(python3 - "$TMP/click_logs/metrics.jsonl" <<'PY'
import json, math, sys
p = [json.loads(l) for l in open(sys.argv[1]) if '"event":"eval"' in l][0]["validation"]["positive_rate"]
print(-(p * math.log(p) + (1 - p) * math.log(1 - p)))
PY
)
for name in click_logs logistic mf_plain mlp deepfm; do
  ll=$(figure $name first_val_ll)
  if python3 -c "import sys; sys.exit(0 if $ll < $constant else 1)"; then
    pass "$name: first validation log-loss $ll below the constant predictor's $constant"
  else
    fail "$name: first validation log-loss $ll is not below the constant predictor's $constant" "$TMP/$name.log"
  fi
done
best=$(figure click_logs test_auc)
for name in logistic mf_plain; do
  other=$(figure $name test_auc)
  if python3 -c "import sys; sys.exit(0 if $best > $other else 1)"; then
    pass "click_logs.yaml test AUC $best beats $name's $other"
  else
    fail "click_logs.yaml test AUC $best does not beat $name's $other" "$TMP/click_logs.log"
  fi
done
grep -q "final test auc" "$TMP/click_logs.log" && ! grep -q '"test"' <(grep '"event":"eval"' "$TMP/click_logs/metrics.jsonl") &&
  pass "click_logs.yaml chose on validation and scored the test rows once" ||
  fail "click_logs.yaml should evaluate validation during training and test once" "$TMP/click_logs.log"

# The start names the saved configuration and prints it only with --verbose; running a complete run again
# evaluates without a made-up training loss.
grep -q "resolved configuration saved as $TMP/click_logs/config.yaml (ectrain --verbose train prints it here)" \
  "$TMP/click_logs.log" &&
  ! grep -q "^  embedding_dim: 16" "$TMP/click_logs.log" && pass "the configuration is saved, not printed" ||
  fail "the start should name config.yaml and not print it" "$TMP/click_logs.log"
"$ECTRAIN" --verbose train configs/click_logs.yaml "${DATA[@]}" --set train.output_dir="$TMP/click_logs" \
  --set train.epochs=4 >"$TMP/click_logs.log" 2>&1
grep -q "training is already complete" "$TMP/click_logs.log" && grep -q "^  embedding_dim: 16" "$TMP/click_logs.log" &&
  pass "--verbose prints the configuration" || fail "--verbose should print the configuration" "$TMP/click_logs.log"
NOKEEP=(--set model.type=logistic --set 'checkpoint.keep_best=""' --set eval.early_stopping_patience=0 --set train.epochs=1)
train complete "$TMP/plain.yaml" "${NOKEEP[@]}"
train complete "$TMP/plain.yaml" "${NOKEEP[@]}"
[ "$(grep -c '"event":"eval"' "$TMP/complete/metrics.jsonl")" -eq 2 ] &&
  ! grep '"event":"eval"' "$TMP/complete/metrics.jsonl" | tail -1 | grep -q train_loss &&
  pass "a complete run run again evaluates without a train_loss" ||
  fail "the evaluation of a complete run" "$TMP/complete/metrics.jsonl"

# optimizer.schedule: plateau: the rate drops when validation log-loss stops improving, and a run
# stopped by SIGTERM after a drop and resumed ends exactly as the run that went through.
PLATEAU=(--set model.type=deepfm --set optimizer.schedule=plateau --set optimizer.plateau_patience=1
  --set optimizer.decay_factor=0.2 --set train.global_batch_size=128 --set train.epochs=5)
train plateau "$TMP/plain.yaml" "${PLATEAU[@]}"
grep -q "learning rate reduced: validation log_loss has not improved for 1 evaluation" "$TMP/plateau.log" &&
  pass "plateau: the rate is reduced when validation log-loss stops improving" ||
  fail "plateau: no reduction logged" "$TMP/plateau.log"
# metrics.jsonl's `step` lines (every train.log_every_steps): the curve, with the rate as it dropped.
python3 - "$TMP/plateau/metrics.jsonl" <<'PY' && pass "step lines: loss, rate, throughput, data wait, time; the rate drops" ||
import json, sys
steps = [l for l in map(json.loads, open(sys.argv[1])) if l["event"] == "step"]
assert len(steps) >= 2 * 2343 // 100, len(steps)  # two epochs at least (early stopping may end it)
keys = {"time", "epoch", "step", "train_loss", "learning_rate", "samples_per_second", "data_wait_seconds"}
assert all(keys <= set(s) for s in steps), steps[0]
assert all(b["step"] - a["step"] == 100 and b["time"] >= a["time"] for a, b in zip(steps, steps[1:]))
assert abs(steps[0]["learning_rate"] - 1e-3) < 1e-9 and steps[-1]["learning_rate"] < 0.5e-3, steps[-1]
PY
  fail "step lines in metrics.jsonl" "$TMP/plateau/metrics.jsonl"
"$ECTRAIN" train "$TMP/plain.yaml" "${DATA[@]}" "${PLATEAU[@]}" --set train.output_dir="$TMP/stopped" \
  >"$TMP/stopped.log" 2>&1 &
job=$!
for _ in $(seq 3000); do grep -q "learning rate reduced" "$TMP/stopped.log" && break; sleep 0.01; done
kill -TERM "$job"
wait "$job"
rc=$?
"$ECTRAIN" train "$TMP/plain.yaml" "${DATA[@]}" "${PLATEAU[@]}" --set train.output_dir="$TMP/stopped" \
  >"$TMP/resumed.log" 2>&1
# The last epoch's validation figures: trained after the drop, so they differ unless its rate came back.
last_validation() { grep '"event":"eval"' "$TMP/$1/metrics.jsonl" | tail -1 | grep -o '"validation":{[^}]*}'; }
if [ "$rc" -eq 3 ] && grep -q "resuming from" "$TMP/resumed.log" && [ -n "$(last_validation plateau)" ] &&
  [ "$(last_validation plateau)" = "$(last_validation stopped)" ]; then
  pass "plateau: stopped by SIGTERM after a drop and resumed, the last epoch's validation figures bit for bit"
else
  fail "plateau: stopped (status $rc) and resumed differs: '$(last_validation plateau)' vs '$(last_validation stopped)'" \
    "$TMP/resumed.log"
fi

# A checkpoint folder means its newest checkpoint; eval says which one training kept as best.
ckpts="$TMP/deepfm/checkpoints"
if [ "$(cat "$ckpts/latest")" != "$(cat "$ckpts/best")" ]; then
  "$ECTRAIN" eval --checkpoint "$ckpts" >"$TMP/eval.log" 2>&1
  grep -q "the one training kept as best (checkpoint.keep_best) is $ckpts/$(cat "$ckpts/best")" "$TMP/eval.log" &&
    pass "eval of a folder names the kept checkpoint" || fail "eval of a folder should name the kept checkpoint" "$TMP/eval.log"
else
  fail "deepfm's last epoch was its best: the test needs a run that overfits (more epochs)" "$TMP/deepfm.log"
fi

# inspect summarises a checkpoint: the model, where training stood, the tensors and the inputs it expects.
"$ECTRAIN" inspect "$ckpts" >"$TMP/inspect.txt" 2>&1
grep -q "^checkpoint $ckpts/$(cat "$ckpts/latest") " "$TMP/inspect.txt" &&
  grep -q "model: deepfm (loss bce), [0-9]* parameters; optimizer: adam" "$TMP/inspect.txt" &&
  grep -q "best log_loss so far: " "$TMP/inspect.txt" && grep -q "    embedding/item  5000 x 16" "$TMP/inspect.txt" &&
  grep -q 'inputs: label clicked; dense \["d0","d1","d2"\]; categorical \["user","item","category"\]' "$TMP/inspect.txt" &&
  pass "inspect of a checkpoint folder: model, step, best metric, tensors, inputs" ||
  fail "inspect of a checkpoint folder" "$TMP/inspect.txt"
"$ECTRAIN" inspect --json "$ckpts/best" >"$TMP/inspect.json" 2>&1
python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['checkpoint'].endswith(open(sys.argv[2]).read().strip()), j['checkpoint']
assert j['model']['type'] == 'deepfm' and j['parameters'] == sum(a * b for a, b in (t['shape'] for t in j['tensors']))
" "$TMP/inspect.json" "$ckpts/best" && pass "inspect --json of the best checkpoint" ||
  fail "inspect --json of the best checkpoint" "$TMP/inspect.json"

# --- adapted as a user would: a CSV click log, prepared and trained by setting only the data keys ---
python3 - "$TMP/clicks.csv" <<'PY'
import math, random, sys
random.seed(4)
with open(sys.argv[1], "w") as out:
    out.write("shopper,product,product_type,cost,click\n")
    for _ in range(30000):
        u, i = int(random.paretovariate(1.2)) % 800, int(random.paretovariate(1.1)) % 300
        p = 1 / (1 + math.exp(-(-3 + (u % 7) * 0.2 + (i % 5) * 0.3)))
        out.write(f"u{u},p{i},t{i % 20},{random.lognormvariate(3, 1):.2f},{int(random.random() < p)}\n")
PY
ADAPT=(--set prepare.source="$TMP/clicks.csv" --set data.train="$TMP/csv/train.h5"
  --set data.validation="$TMP/csv/validation.h5" --set data.test="$TMP/csv/test.h5" --set data.label=click
  --set "data.categorical=[shopper, product, product_type]" --set "data.dense=[cost]" --set data.user_column=shopper
  --set data.item_column=product --set "prepare.log=[cost]" --set "model.parents={product: product_type}")
if "$ECTRAIN" prepare configs/click_logs.yaml "${ADAPT[@]}" >"$TMP/prepare.log" 2>&1 &&
  "$ECTRAIN" train configs/click_logs.yaml "${ADAPT[@]}" --set train.output_dir="$TMP/csv/run" --set train.epochs=2 \
    >"$TMP/csv.log" 2>&1 && grep -q "final test auc" "$TMP/csv.log"; then
  pass "click_logs.yaml prepares and trains a CSV click log adapted by its data keys"
else
  fail "click_logs.yaml adapted to a CSV click log" "$TMP/csv.log"
fi
finish click_quality
