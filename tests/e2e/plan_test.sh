#!/usr/bin/env bash
# End-to-end: `ectrain config` checks the data files a config names (missing files, columns, kinds,
# each problem listed, exit 2); `ectrain plan` gives the rows per rank a training run reads (the
# done line's rows_per_rank) and the parameter count of its checkpoint (`ectrain inspect`), and
# warns of ranks without rows; `predict` passes an id column through and writes a classifier's
# every class (or the top k).
# Usage: tests/e2e/plan_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: plan_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

"$ECTRAIN" generate --out "$TMP/clicks" --rows 20000 --shards 3 --test-rows 2000 --seed 5 >"$TMP/generate.log" 2>&1 ||
  fail "generate click data" "$TMP/generate.log"
# Blocks of 1000 rows in files of 6666/6667 rows: short blocks, and a window of 8 blocks that 3
# ranks do not divide, so the ranks' rows differ and depend on the shuffled block order.
cat >"$TMP/clicks.yaml" <<YAML
data:
  train: $TMP/clicks
  test: $TMP/clicks-test.h5
  label: clicked
  dense: [d0, d1, d2]
  categorical: [user, item, category]
  multi_valued: [recent_items]
  block_rows: 1000
  shuffle_window_blocks: 8
model:
  type: mlp
  embedding_dim: 8
train:
  epochs: 2
  global_batch_size: 512
  output_dir: $TMP/run
YAML
CONFIG=$TMP/clicks.yaml

# --- config: the data files ---
expect_exit "config: a config whose data is there is valid" 0 "label: \"clicked\"" -- "$ECTRAIN" config "$CONFIG"
expect_exit "config: every problem with the data is listed, with the key, file and what to do" 2 \
  "4 problem\(s\) with the data" -- "$ECTRAIN" config "$CONFIG" --set "data.test=$TMP/nope.h5" \
  --set "data.dense=[d0, price]" --set "data.categorical=[user, item, recent_items]" --set data.multi_valued=[] \
  --set "data.validation=$CONFIG"
for pattern in "data.test: '$TMP/nope.h5' does not exist; check the path" \
  "data.dense: data file '$TMP/clicks/part-00000.h5' has no column 'price'; columns are: category, clicked" \
  "data.categorical: .*column 'recent_items' is multi-valued .*; list it in data.multi_valued" \
  "data.validation: data file '$CONFIG' is not a readable HDF5 file"; do
  grep -q -- "$pattern" "$LAST_LOG" && pass "config names: $pattern" || fail "config names: $pattern" "$LAST_LOG"
done
expect_exit "config: training data not prepared yet says to run prepare" 2 \
  "data.train: '$TMP/later.h5' does not exist; run \`ectrain prepare $CONFIG\` to write it from prepare.source 'raw.csv'" -- \
  "$ECTRAIN" config "$CONFIG" --set "data.train=$TMP/later.h5" --set prepare.source=raw.csv
expect_exit "config: an empty data.train is an error" 2 "data.train is empty" -- \
  "$ECTRAIN" config "$CONFIG" --set 'data.train=""'
expect_exit "config: a model field the data lacks is named" 2 "model.parents.item: column 'brand' is not among" -- \
  "$ECTRAIN" config "$CONFIG" --set "model.parents={item: brand}"
expect_exit "config --no-data checks the keys alone" 0 "label: \"clicked\"" -- \
  "$ECTRAIN" config --no-data "$CONFIG" --set "data.train=$TMP/later.h5"

# --- plan against a training run on 3 ranks ---
expect_exit "plan: text" 0 "rows per rank" -- "$ECTRAIN" plan "$CONFIG" --ranks 3
grep -q "not a multiple of the 3 ranks" "$LAST_LOG" && grep -q "memory per rank" "$LAST_LOG" &&
  grep -qE "embedding/user +100000 x 8 .* row-sparse" "$LAST_LOG" && pass "plan: memory, tables and the window warning" ||
  fail "plan: memory, tables and the window warning" "$LAST_LOG"
"$ECTRAIN" plan "$CONFIG" --ranks 3 --json >"$TMP/plan.json" 2>"$TMP/plan.log" || fail "plan --json" "$TMP/plan.log"
expect_exit "train on 3 ranks" 0 "done: 2 epochs" -- "$ECTRAIN" train "$CONFIG" --ranks 3
"$ECTRAIN" inspect "$TMP/run/checkpoints" --json >"$TMP/inspect.json" 2>"$TMP/inspect.log" ||
  fail "inspect the checkpoint" "$TMP/inspect.log"
python3 - "$TMP/plan.json" "$TMP/run/metrics.jsonl" "$TMP/inspect.json" <<'PY' >"$TMP/compare.log" 2>&1 &&
import json, sys
plan = json.load(open(sys.argv[1]))
done = [json.loads(l) for l in open(sys.argv[2]) if '"event":"done"' in l][-1]
checkpoint = json.load(open(sys.argv[3]))
planned = [r["rows_run"] for r in plan["per_rank"]]
print("plan", planned, "training", done["rows_per_rank"])
assert planned == done["rows_per_rank"], "rows per rank differ"
assert len(set(planned)) > 1, "the ranks' rows should differ in this layout"
print("parameters", plan["model"]["parameters"], checkpoint["parameters"])
assert plan["model"]["parameters"] == checkpoint["parameters"], "parameter counts differ"
# Memory in the end-of-run report's categories: the reader's bound is the same figure, the state
# (parameters, optimizer state, gradients) within the slot index the plan adds (4 bytes a table row).
memory = plan["memory_mb"]
assert abs(memory["reader_bound"] - done["reader_bound_mb"]) < 1e-6, (memory["reader_bound"], done["reader_bound_mb"])
state = memory["parameters"] + memory["optimizer_state"] + memory["gradients"]
assert done["state_mb"] <= state <= done["state_mb"] + 1.0, (state, done["state_mb"])
PY
  pass "plan: per-rank rows, parameters, reader bound and state match the run" ||
  fail "plan: per-rank rows, parameters, reader bound and state match the run" "$TMP/compare.log"
expect_exit "plan: more ranks than blocks warns of ranks without rows" 0 \
  "warning: rank\(s\) .* of 4 read no rows in some epoch .* lower data.block_rows" -- \
  "$ECTRAIN" plan "$CONFIG" --ranks 4 --set data.block_rows=10000 --set data.shuffle_window_blocks=4
expect_exit "plan: a missing file is the config check's error" 2 "data.test: '$TMP/nope.h5' does not exist" -- \
  "$ECTRAIN" plan "$CONFIG" --set "data.test=$TMP/nope.h5"

# --- predict: an id column passed through ---
expect_exit "predict --id-column on prepared rows" 0 "" -- "$ECTRAIN" predict --checkpoint "$TMP/run/checkpoints" \
  --input "$TMP/clicks-test.h5" --id-column user --output "$TMP/ids.csv"
python3 - "$TMP/ids.csv" "$TMP/run/test_predictions.csv" <<'PY' >"$TMP/ids.log" 2>&1 &&
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
plain = [l.strip() for l in open(sys.argv[2])]
assert rows[0] == ["user", "probability"], rows[0]
assert [r[1] for r in rows[1:]] == plain[1:], "the probabilities are not the run's"
assert all(r[0].isdigit() for r in rows[1:]) and len({r[0] for r in rows[1:]}) > 100, "user ids not passed through"
PY
  pass "predict: the user id first, then the run's probabilities" || fail "predict --id-column" "$TMP/ids.log"
expect_exit "predict --id-column naming no column lists the columns" 2 "--id-column: .* has no column 'order'; columns are" -- \
  "$ECTRAIN" predict --checkpoint "$TMP/run/checkpoints" --input "$TMP/clicks-test.h5" --id-column order
expect_exit "predict --top-k on a binary model is refused" 2 "--top-k: this checkpoint's model predicts one" -- \
  "$ECTRAIN" predict --checkpoint "$TMP/run/checkpoints" --input "$TMP/clicks-test.h5" --top-k 2

# --- predict: a classifier's every class, or its top k ---
awk 'BEGIN { srand(3); print "order,size,colour,kind";
  for (i = 0; i < 900; i++) { s = rand() * 10; c = (rand() < 0.5) ? "red" : "blue,green";
    k = s < 3 ? "small" : (s < 7 ? "medium, mid" : "large"); printf "o%d,%.3f,\"%s\",\"%s\"\n", i, s, c, k } }' \
  >"$TMP/shop.csv"
cat >"$TMP/classes.yaml" <<YAML
data: {train: $TMP/shop/train.h5, test: $TMP/shop/test.h5, label: kind, dense: [size], categorical: [colour]}
prepare: {source: $TMP/shop.csv, label_type: class}
model: {type: classifier, num_classes: 3, hidden_units: [16], embedding_dim: 4}
optimizer: {learning_rate: 0.05}
train: {epochs: 3, global_batch_size: 64, output_dir: $TMP/classes}
YAML
"$ECTRAIN" prepare "$TMP/classes.yaml" >"$TMP/prepare.log" 2>&1 && "$ECTRAIN" train "$TMP/classes.yaml" >"$TMP/classes.log" 2>&1 ||
  fail "prepare and train a classifier" "$TMP/classes.log"
expect_exit "predict a classifier: every class's probability" 0 "" -- "$ECTRAIN" predict \
  --checkpoint "$TMP/classes/checkpoints" --input "$TMP/shop.csv" --id-column order --output "$TMP/classes.csv"
expect_exit "predict a classifier: the top 2" 0 "" -- "$ECTRAIN" predict \
  --checkpoint "$TMP/classes/checkpoints" --input "$TMP/shop.csv" --top-k 2 --output "$TMP/top2.csv"
python3 - "$TMP/classes.csv" "$TMP/top2.csv" <<'PY' >"$TMP/classes_check.log" 2>&1 &&
import csv, sys
full = list(csv.reader(open(sys.argv[1])))
top = list(csv.reader(open(sys.argv[2])))
assert full[0] == ["order", "large", "medium, mid", "small"], full[0]
assert len(full) == 901 and full[1][0] == "o0" and full[900][0] == "o899"
for row in full[1:]:
    assert abs(sum(float(p) for p in row[1:]) - 1) < 1e-6, row
assert top[0] == ["top1_class", "top1_prob", "top2_class", "top2_prob"], top[0]
accurate = 0
for f, t in zip(full[1:], top[1:]):
    probs = dict(zip(full[0][1:], map(float, f[1:])))
    ranked = sorted(probs, key=lambda c: -probs[c])
    assert t[0] == ranked[0] and t[2] == ranked[1], (f, t)
    assert float(t[1]) >= float(t[3]) and abs(float(t[1]) - probs[t[0]]) < 1e-9
print("ok")
PY
  pass "predict: one column per class named by class (sums to 1), and the top 2 ranked as they are" ||
  fail "predict: classifier columns" "$TMP/classes_check.log"

finish plan
