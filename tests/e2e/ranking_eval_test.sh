#!/usr/bin/env bash
# End-to-end: the user and item named once (data.user_column, data.item_column) and training that
# evaluates as a ranking. A generated implicit-feedback log (every row a click; customers mostly
# click products of one category) is prepared with a random split and sampled negatives, so the
# validation and test rows are all positives. A two_tower model whose user tower defaults to the
# user column trains on it, keeps its best checkpoint by validation ndcg@10 and stops early on it;
# metrics.jsonl's evaluations carry hr@10, ndcg@10 and recall@10 and no auc. Then mf through the
# same roles, `recommend` and `eval` picking the roles from the checkpoint, and the errors.
# Usage: tests/e2e/ranking_eval_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: ranking_eval_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

# 48 customers x 10 clicks over 60 products in 6 categories; customer c favours category c % 6.
awk 'BEGIN {
  srand(7); print "customer,product,category,clicked"
  for (c = 0; c < 48; ++c) for (i = 0; i < 10; ++i) {
    cat = (i < 8) ? c % 6 : int(rand() * 6); p = cat * 10 + int(rand() * 10)
    printf "c%d,p%d,cat%d,1\n", c, p, cat
  }
}' >"$TMP/clicks.csv"
cat >"$TMP/clicks.yaml" <<EOF
data:
  train: $TMP/data/train.h5
  validation: $TMP/data/validation.h5
  test: $TMP/data/test.h5
  label: clicked
  categorical: [customer, product, category]
  user_column: customer
  item_column: product
prepare:
  source: $TMP/clicks.csv
  test_fraction: 0.2
  validation_fraction: 0.2
  negatives_per_positive: 3
  item_columns: [product, category]
  seed: 5
model:
  type: two_tower
  embedding_dim: 8
optimizer:
  type: adam
  learning_rate: 0.02
train:
  epochs: 12
  global_batch_size: 64
  output_dir: $TMP/run
eval:
  early_stopping_patience: 3
checkpoint:
  keep_best: ndcg@10
EOF
CONFIG=$TMP/clicks.yaml
RUN=$TMP/run

expect_exit "prepare: sampled negatives with the item named by data.item_column" 0 "sampled negative rows added" -- \
  "$ECTRAIN" prepare "$CONFIG"
expect_exit "two_tower's user tower defaults to data.user_column" 0 'user_fields: \["customer"\]' -- \
  "$ECTRAIN" config "$CONFIG"
expect_exit "train: the evaluations rank items" 0 "evaluations rank items \(eval.metrics auto: every evaluated row" -- \
  "$ECTRAIN" train "$CONFIG"
grep -qE "validation ranking: [0-9]+ users, [0-9]+ items; the most-popular baseline has hr@10" "$LAST_LOG" &&
  pass "the log names the most-popular baseline" || fail "no most-popular baseline in the log" "$LAST_LOG"
python3 - "$RUN/metrics.jsonl" <<'PY' && pass "metrics.jsonl: ranking metrics in every evaluation, no auc" ||
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
evals = [l for l in lines if l["event"] == "eval"]
best = [l for l in lines if l["event"] == "best"]
done = [l for l in lines if l["event"] == "done"]
ranking = {"hr@10", "ndcg@10", "recall@10", "count"}
assert evals and len(best) == 1 and len(done) == 1, lines
for e in evals:
    assert set(e["validation"]) == ranking, e
    assert "test" not in e, e  # with a validation set, the test rows are scored once, at the end
    assert all(0 <= e["validation"][m] <= 1 for m in ("hr@10", "ndcg@10", "recall@10")), e
assert set(best[0]["test"]) == ranking and set(best[0]["validation"]) == ranking, best
assert done[0]["test"] == best[0]["test"], (done, best)
# The kept checkpoint is the one with the best validation ndcg@10.
top = max(e["validation"]["ndcg@10"] for e in evals)
assert abs(best[0]["validation"]["ndcg@10"] - top) < 1e-12, (best, top)
assert "auc" not in open(sys.argv[1]).read()
PY
  fail "metrics.jsonl" "$RUN/metrics.jsonl"
best_step=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"best\"" in l][0]["step"])' \
  "$RUN/metrics.jsonl" 2>/dev/null)
grep -q "ckpt-0*${best_step:-x}.h5" "$RUN/checkpoints/best" && pass "checkpoints/best is the step of the best ndcg@10" ||
  fail "checkpoints/best is not step '$best_step'" "$RUN/checkpoints/best"
expect_exit "eval of the kept checkpoint ranks too" 0 "ranked against the [0-9]+ items of .*: hr@10 [0-9.]+  ndcg@10" -- \
  "$ECTRAIN" eval --checkpoint "$RUN/checkpoints/best"
expect_exit "recommend takes the user and item columns from the checkpoint" 0 "^3\. product p[0-9]+  score" -- \
  "$ECTRAIN" recommend --checkpoint "$RUN/checkpoints" --user c4 --k 3
expect_exit "recommend --evaluate ranks by the same roles" 0 "model \(two_tower\): +hr@10" -- \
  "$ECTRAIN" recommend --checkpoint "$RUN/checkpoints" --evaluate "$TMP/data/test.h5"

# mf through the same roles (no model.user_field/item_field), 0/1 labels: a ranking too.
expect_exit "mf takes its user and item from data.user_column and data.item_column" 0 "done: " -- \
  "$ECTRAIN" train "$CONFIG" --set model.type=mf --set model.loss=bce --set "train.output_dir=$TMP/mf" \
  --set train.epochs=2 --set eval.early_stopping_patience=0
grep -q 'user_field: "customer"' "$TMP/mf/config.yaml" && grep -q 'item_field: "product"' "$TMP/mf/config.yaml" &&
  grep -q '"validation":{"count":[0-9]*,"hr@10"' "$TMP/mf/metrics.jsonl" &&
  pass "mf: user customer, item product, evaluated as a ranking" || fail "mf run" "$TMP/mf/metrics.jsonl"

# Per-row metrics when asked; the choices that cannot work are refused before training.
expect_exit "eval.metrics: per_row warns that every row is a positive" 0 "every evaluated row is a positive" -- \
  "$ECTRAIN" train "$CONFIG" --set eval.metrics=per_row --set checkpoint.keep_best=log_loss \
  --set "train.output_dir=$TMP/per_row" --set train.epochs=1
grep '"event":"eval"' "$TMP/per_row/metrics.jsonl" | grep -q '"auc"' && pass "per_row: auc and the rest" ||
  fail "per_row metrics" "$TMP/per_row/metrics.jsonl"
expect_exit "keep_best auc on a ranking run is refused at the start" 2 \
  "checkpoint.keep_best: 'auc' is a per-row metric, but this run evaluates as a ranking" -- \
  "$ECTRAIN" train "$CONFIG" --set checkpoint.keep_best=auc --set "train.output_dir=$TMP/refused"
[ ! -e "$TMP/refused/checkpoints" ] && pass "the refused run wrote no checkpoint" || fail "refused run checkpointed"
expect_exit "keep_best ndcg names the metric as reported" 2 "as ndcg@10; name that" -- \
  "$ECTRAIN" config "$CONFIG" --set checkpoint.keep_best=ndcg
expect_exit "a role that is not categorical is named" 2 "data.item_column: column 'colour' is not among data.categorical" -- \
  "$ECTRAIN" config "$CONFIG" --set data.item_column=colour
expect_exit "prepare.item_columns naming another item is refused, naming both keys" 2 \
  "prepare.item_columns\[0\] is 'category' but data.item_column is 'product'" -- \
  "$ECTRAIN" prepare "$CONFIG" --set "prepare.item_columns=[category, product]"
finish ranking_eval
