#!/usr/bin/env bash
# End-to-end tests of `ectrain generate` and `ectrain inspect`: sharded output with a test file,
# the same bytes of data for the same seed, short training runs on generated data (a single file;
# a folder of shards with the multi-valued column under mpirun) that beat a constant predictor,
# inspect on generated, prepared and damaged files, and usage errors.
# Usage: tests/e2e/generate_inspect_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: generate_inspect_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

# --- generate: shards, test file, summary ---
expect_exit "generate 3 shards and a test file" 0 \
  "generated 30000 rows in 3 files .* rows/s.*positive rate 0\.0[45][0-9]* \(target 0\.0500\)" -- \
  "$ECTRAIN" generate --out "$TMP/gen" --rows 30000 --shards 3 --test-rows 5000 --users 500 --items 300 \
  --categories 20 --dense 4 --seed 11
[ -f "$TMP/gen/part-00000.h5" ] && [ -f "$TMP/gen/part-00002.h5" ] && [ -f "$TMP/gen-test.h5" ] &&
  [ -z "$(ls "$TMP/gen" | grep -v '^part-0000[0-2]\.h5$')" ] &&
  pass "files part-00000..00002.h5 and gen-test.h5, no leftovers" || fail "files part-00000..00002.h5 and gen-test.h5"

# The same seed gives the same data (the provenance, which holds the command line, may differ).
"$ECTRAIN" generate --out "$TMP/again" --rows 30000 --shards 3 --users 500 --items 300 --categories 20 --dense 4 \
  --seed 11 >/dev/null 2>&1
same=1
for column in clicked d0 d3 user item category recent_items/values recent_items/offsets; do
  cmp -s <(h5dump -d "/$column" "$TMP/gen/part-00001.h5" | tail -n +3) \
         <(h5dump -d "/$column" "$TMP/again/part-00001.h5" | tail -n +3) || { same=0; echo "differs: $column"; }
done
[ "$same" -eq 1 ] && pass "the same seed gives the same values" || fail "the same seed gives the same values"
"$ECTRAIN" generate --out "$TMP/other" --rows 30000 --shards 3 --users 500 --items 300 --categories 20 --dense 4 \
  --seed 12 >/dev/null 2>&1
cmp -s <(h5dump -d /d0 "$TMP/gen/part-00001.h5" | tail -n +3) <(h5dump -d /d0 "$TMP/other/part-00001.h5" | tail -n +3) &&
  fail "another seed gives other values" || pass "another seed gives other values"

# --- a validation file, the hidden model's figures, scaled dense columns ---
expect_exit "generate a validation and a test file with scaled dense columns" 0 \
  "validation: $TMP/eval/clicks-validation\.h5 \(3000 rows.*hidden model: AUC 0\.[6-9][0-9]*, log-loss 0\.[0-9]+\)" -- \
  "$ECTRAIN" generate --out "$TMP/eval/clicks" --rows 20000 --validation-rows 3000 --test-rows 4000 --users 500 \
  --items 300 --categories 20 --dense 4 --recent-items 0 --scale-dense --item-category-share 0.7 --seed 11
log=$LAST_LOG
grep -qE "test: +$TMP/eval/clicks-test\.h5 \(4000 rows.*hidden model: AUC 0\.[6-9]" "$log" &&
  grep -q -- "--set data.validation=$TMP/eval/clicks-validation.h5 --set data.test=$TMP/eval/clicks-test.h5" "$log" &&
  pass "the summary gives the hidden model's AUC and log-loss on both files, and the --set flags" ||
  fail "the summary gives the hidden model's AUC and log-loss on both files, and the --set flags" "$log"
expect_exit "inspect the validation file" 0 "hidden_logit +float32" -- "$ECTRAIN" inspect "$TMP/eval/clicks-validation.h5"
log=$LAST_LOG
grep -q "d0: price.*written scaled: (log1p(x) - " "$log" && grep -q "hidden model on these rows .*: AUC 0\." "$log" &&
  grep -qE "dense \[d0, d1, d2, d3\]; categorical" "$log" && ! grep -q "^warning" "$log" &&
  pass "the validation file: scaling and Bayes figures in its provenance, hidden_logit not in the schema" ||
  fail "the validation file: scaling and Bayes figures in its provenance, hidden_logit not in the schema" "$log"
# --- inspect the generated folder ---
expect_exit "inspect a folder of shards" 0 "^3 files, 30000 rows" -- "$ECTRAIN" inspect "$TMP/gen"
log=$LAST_LOG
grep -qE "^label 'clicked': [0-9]+ positive, [0-9]+ negative, 0 other; positive rate 0\.0[45]" "$log" &&
  grep -q "categorical (vocab size) \[user (500), item (300), category (20)\]" "$log" &&
  grep -q "command: .*generate --out $TMP/gen" "$log" &&
  grep -qE "values/row mean 2\.[0-9]+ max 5" "$log" && ! grep -q "^warning" "$log" &&
  pass "inspect shows label balance, schema, provenance and bag sizes, no warnings" ||
  fail "inspect shows label balance, schema, provenance and bag sizes, no warnings" "$log"
"$ECTRAIN" inspect --json "$TMP/gen/part-00000.h5" "$TMP/gen/part-00001.h5" "$TMP/gen/part-00002.h5" \
  >"$TMP/inspect.json" 2>"$TMP/inspect.err"
python3 - "$TMP/inspect.json" <<'EOF' && pass "inspect --json: rows, label and columns" || fail "inspect --json: rows, label and columns" "$TMP/inspect.err"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["rows"] == 30000, doc["rows"]
assert doc["label"]["positives"] + doc["label"]["negatives"] == 30000
columns = {c["name"]: c for c in doc["columns"]}
assert set(columns) == {"clicked", "d0", "d1", "d2", "d3", "user", "item", "category", "recent_items"}, set(columns)
assert columns["item"]["vocab_size"] == 300 and columns["item"]["outside_vocab"] == 0
assert columns["recent_items"]["kind"] == "multi_valued" and columns["recent_items"]["values_per_row_max"] == 5
assert doc["problems"] == []
EOF

# --- a short training run on generated data beats a constant predictor ---
expect_exit "generate one file without multi-valued columns" 0 "train: $TMP/small/train.h5" -- \
  "$ECTRAIN" generate --out "$TMP/small/train.h5" --rows 100000 --test-rows 20000 --users 1000 --items 500 \
  --categories 20 --recent-items 0 --positive-rate 0.1 --seed 5
RUN="$TMP/run"
"$ECTRAIN" train configs/quickstart.yaml --set "data.train=$TMP/small/train.h5" --set "data.test=$TMP/small/test.h5" \
  --set data.label=clicked --set "data.dense=[d0,d1,d2,d3,d4,d5]" --set "data.categorical=[user,item,category]" \
  --set train.epochs=2 --set train.global_batch_size=256 --set "train.output_dir=$RUN" >"$TMP/train.log" 2>&1
auc=$(grep '"event":"done"' "$RUN/metrics.jsonl" 2>/dev/null | sed -E 's/.*"auc":([0-9.]+).*/\1/')
awk -v a="${auc:-0}" 'BEGIN { exit !(a >= 0.65) }' && pass "train on generated data: test AUC $auc >= 0.65" ||
  fail "train on generated data: test AUC '${auc}' >= 0.65" "$TMP/train.log"

# ... and so does one on a folder of shards with the multi-valued column, under mpirun -np 2.
"$ECTRAIN" generate --out "$TMP/sharded/train" --rows 100000 --shards 4 --test-rows 20000 --users 1000 --items 500 \
  --categories 20 --positive-rate 0.1 --seed 5 >"$TMP/sharded.log" 2>&1 || fail "generate 4 shards" "$TMP/sharded.log"
RUN="$TMP/run_sharded"
timeout 300 mpirun --bind-to none -np 2 "$ECTRAIN" train configs/quickstart.yaml \
  --set "data.train=$TMP/sharded/train" --set "data.test=$TMP/sharded/test.h5" --set data.label=clicked \
  --set "data.dense=[d0,d1,d2,d3,d4,d5]" --set "data.categorical=[user,item,category]" \
  --set "data.multi_valued=[recent_items]" --set train.epochs=2 --set train.global_batch_size=256 \
  --set "train.output_dir=$RUN" >"$TMP/train_sharded.log" 2>&1
auc=$(grep '"event":"done"' "$RUN/metrics.jsonl" 2>/dev/null | sed -E 's/.*"auc":([0-9.]+).*/\1/')
awk -v a="${auc:-0}" 'BEGIN { exit !(a >= 0.65) }' &&
  pass "mpirun -np 2 on a folder of 4 shards with recent_items: test AUC $auc >= 0.65" ||
  fail "mpirun -np 2 on a folder of 4 shards with recent_items: test AUC '${auc}' >= 0.65" "$TMP/train_sharded.log"

# --- inspect a file written by `ectrain prepare` ---
"$ECTRAIN" prepare configs/quickstart.yaml --set "data.train=$TMP/prep/train.h5" --set "data.test=$TMP/prep/test.h5" \
  >"$TMP/prepare.log" 2>&1 || fail "prepare the bundled data" "$TMP/prepare.log"
expect_exit "inspect a prepared file" 0 "preprocessing: dense standardized" -- "$ECTRAIN" inspect "$TMP/prep/train.h5"
log=$LAST_LOG
grep -qE "^label 'Revenue': [0-9]+ positive" "$log" && grep -q "Month" "$log" &&
  pass "prepared file: label balance from the stored schema" || fail "prepared file: label balance from the stored schema" "$log"

# --- damaged input and usage errors ---
cp "$TMP/gen/part-00000.h5" "$TMP/cut.h5"
truncate -s $(($(stat -c %s "$TMP/cut.h5") / 2)) "$TMP/cut.h5"
expect_exit "inspect a truncated file: exit 1 naming it" 1 "cut\.h5.*truncated or corrupt" -- "$ECTRAIN" inspect "$TMP/cut.h5"
echo "not hdf5" >"$TMP/text.h5"
expect_exit "inspect a text file: exit 1" 1 "text\.h5' is not an HDF5 file" -- "$ECTRAIN" inspect "$TMP/text.h5"
expect_exit "inspect a missing file: exit 1" 1 "nope\.h5' not found" -- "$ECTRAIN" inspect "$TMP/nope.h5"
expect_exit "inspect without a file: exit 2" 2 "files is required" -- "$ECTRAIN" inspect
expect_exit "inspect with an unknown label: exit 2" 2 "no column 'buy'; columns are: category, clicked" -- \
  "$ECTRAIN" inspect --label buy "$TMP/gen"
expect_exit "generate with a bad click rate: exit 2" 2 "--positive-rate is 2" -- \
  "$ECTRAIN" generate --out "$TMP/bad" --rows 10 --positive-rate 2
expect_exit "generate several shards into a .h5 name: exit 2" 2 "give a directory" -- \
  "$ECTRAIN" generate --out "$TMP/bad.h5" --rows 10 --shards 2
expect_exit "generate into a folder with other shards: exit 2" 2 "part-00002\.h5" -- \
  "$ECTRAIN" generate --out "$TMP/gen" --rows 100 --shards 2

finish generate_inspect_test
