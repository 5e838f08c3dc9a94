#!/usr/bin/env bash
# End-to-end: a key written for another model type, optimizer or schedule is an error naming it,
# while the resolved config.yaml (only the keys that apply) and a checkpoint's copy read back for a
# resumed run, `train` from config.yaml, eval and predict; `model.loss: auto` follows the labels (mf:
# bce on clicks, mse on ratings) and the checkpoint keeps the loss it chose; an explicit loss wins.
# Usage: tests/e2e/config_rules_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: config_rules_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

# --- keys that do not apply ---
expect_exit "--set model.type=logistic over a config with mlp keys names them" 2 \
  "quickstart.yaml: keys that do not apply to this configuration: model.embedding_dim \(only for model.type .*; here model.type is logistic\), model.hidden_units .*Remove them, or change model.type" -- \
  "$ECTRAIN" train configs/quickstart.yaml --set model.type=logistic
printf 'optimizer:\n  type: sgd\n  beta1: 0.9\n  decay_factor: 0.5\n' >"$TMP/sgd.yaml"
expect_exit "beta1 with sgd and decay_factor without schedule: step" 2 \
  "optimizer.beta1 \(only for optimizer.type adam, adamw; here optimizer.type is sgd\), optimizer.decay_factor \(only for optimizer.schedule step, plateau; here optimizer.schedule is constant\)" -- \
  "$ECTRAIN" config "$TMP/sgd.yaml"

# --- mf on 0/1 clicks: bce; the resolved config through resume, train, eval and predict ---
"$ECTRAIN" generate --out "$TMP/clicks/train.h5" --rows 20000 --test-rows 2000 --seed 5 >"$TMP/generate.log" 2>&1 ||
  fail "generate click data" "$TMP/generate.log"
cat >"$TMP/mf.yaml" <<YAML
data:
  train: $TMP/clicks/train.h5
  test: $TMP/clicks/test.h5
  label: clicked
  categorical: [user, item, category]
model:
  type: mf
  user_field: user
  item_field: item
  embedding_dim: 8
optimizer:
  type: sgd
  learning_rate: 0.05
  momentum: 0.9
  schedule: step
  decay_every_steps: 50
train:
  epochs: 1
  global_batch_size: 512
  output_dir: $TMP/mf
YAML
RUN=$TMP/mf
expect_exit "mf on 0/1 clicks trains with bce (auc reported)" 0 "model.loss auto: bce" -- \
  "$ECTRAIN" train "$TMP/mf.yaml"
grep -q "model.loss auto: bce (column 'clicked' holds binary labels)" "$LAST_LOG" && grep -q "final test auc" "$LAST_LOG" &&
  pass "the log says which loss auto chose, and the test metrics are a binary model's" ||
  fail "loss auto on clicks" "$LAST_LOG"
if grep -q 'loss: "bce"' "$RUN/config.yaml" && grep -q "momentum:" "$RUN/config.yaml" &&
  ! grep -qE "beta1|rho|cross_layers|tower_units|num_classes|min_learning_rate" "$RUN/config.yaml"; then
  pass "config.yaml records the loss chosen and only the keys that apply"
else
  fail "config.yaml records the loss chosen and only the keys that apply" "$RUN/config.yaml"
fi
expect_exit "the resolved config.yaml is a valid config" 0 "" -- "$ECTRAIN" config "$RUN/config.yaml"
expect_exit "a resumed run reads the checkpoint's config" 0 "resuming from .*: step 40 " -- \
  "$ECTRAIN" train "$TMP/mf.yaml" --set train.epochs=2
expect_exit "eval from the checkpoint uses the loss training chose" 0 "on $TMP/clicks/test.h5: auc " -- \
  "$ECTRAIN" eval --checkpoint "$RUN/checkpoints"
expect_exit "predict from the checkpoint" 0 "" -- \
  "$ECTRAIN" predict --checkpoint "$RUN/checkpoints" --input "$TMP/clicks/test.h5" --output "$TMP/pred.csv"
cmp -s "$TMP/pred.csv" "$RUN/test_predictions.csv" && pass "predict gives the run's test probabilities" ||
  fail "predict gives the run's test probabilities" "$LAST_LOG"
expect_exit "eval --set of a key the checkpoint's model type does not use is refused" 2 \
  "model.cross_layers \(only for model.type dcn; here model.type is mf\)" -- \
  "$ECTRAIN" eval --checkpoint "$RUN/checkpoints" --set model.cross_layers=3
expect_exit "train from the run's config.yaml" 0 "done: 2 epochs" -- \
  "$ECTRAIN" train "$RUN/config.yaml" --set "train.output_dir=$TMP/again"
cmp -s "$RUN/test_predictions.csv" "$TMP/again/test_predictions.csv" &&
  pass "training from config.yaml gives the same model" ||
  fail "training from config.yaml gives the same model" "$LAST_LOG"
expect_exit "an explicit loss wins: mf with loss: mse on clicks" 0 "final test rmse" -- \
  "$ECTRAIN" train "$TMP/mf.yaml" --set model.loss=mse --set "train.output_dir=$TMP/mf_mse"
grep -q "model.loss auto" "$LAST_LOG" && fail "an explicit loss is not replaced" "$LAST_LOG" ||
  pass "an explicit loss is not replaced"

# --- mf on ratings (prepare.label_type: regression) keeps mse ---
ML=(--set "data.train=$TMP/ml/train.h5" --set "data.test=$TMP/ml/test.h5" --set "data.validation=$TMP/ml/validation.h5"
    --set "train.output_dir=$TMP/ml/run")
"$ECTRAIN" prepare configs/movielens_ratings.yaml --set prepare.source=tests/fixtures/movielens-100k \
  --set 'prepare.test_source=""' "${ML[@]}" >"$TMP/ml.log" 2>&1 || fail "prepare the ratings fixture" "$TMP/ml.log"
expect_exit "configs/movielens_ratings.yaml trains with mse (rmse reported)" 0 \
  "model.loss auto: mse \(column 'rating' holds regression labels\)" -- \
  "$ECTRAIN" train configs/movielens_ratings.yaml "${ML[@]}" --set train.epochs=2
grep -q "final test rmse" "$LAST_LOG" && pass "ratings: rmse reported" || fail "ratings: rmse reported" "$LAST_LOG"
expect_exit "eval of the ratings checkpoint reports rmse" 0 "test.h5: rmse " -- \
  "$ECTRAIN" eval --checkpoint "$TMP/ml/run/checkpoints"

finish config_rules
