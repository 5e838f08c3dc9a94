#!/usr/bin/env bash
# End-to-end: `ectrain export --format onnx` for every model type and the options that change the
# forward pass (parents, layer norm, dropout, embedding dropout, bags pooled by mean and sum, dot
# interaction, cross layers, towers, dense scaling, hashing, class and regression outputs). Each
# tiny model is trained, `predict` scores test rows, the export runs under onnxruntime on the same
# prepared rows (and, for prepared CSVs, on raw rows encoded from the sidecar alone) and must agree
# within 1e-5, after onnx's checker. Then the errors: unwritable --out, a file that is not a
# checkpoint, an unknown --format.
# Usage: tests/e2e/export_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: export_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
need_python_modules onnxruntime onnx numpy h5py
CHECK=(timeout 300 "$PY" "$(dirname "$0")/export_check.py")

# train_export NAME DATA_H5 CONFIG SETTINGS...: trains $TMP/NAME, predicts DATA_H5, exports, compares.
train_export() {
  local name=$1 data=$2 config=$3
  shift 3
  if ! timeout 300 "$ECTRAIN" train "$config" --set "train.output_dir=$TMP/$name" --set train.epochs=1 "$@" >"$TMP/$name.log" 2>&1; then
    fail "$name: train" "$TMP/$name.log"
    return 1
  fi
  "$ECTRAIN" predict --checkpoint "$TMP/$name/checkpoints" --input "$data" --output "$TMP/$name.csv" \
    >>"$TMP/$name.log" 2>&1 || { fail "$name: predict" "$TMP/$name.log"; return 1; }
  expect_exit "$name: export" 0 "exported .*ckpt-.* to $TMP/$name.onnx" -- \
    "$ECTRAIN" export --checkpoint "$TMP/$name/checkpoints" --format onnx --out "$TMP/$name.onnx"
  expect_exit "$name: onnxruntime = predict on the prepared rows" 0 "max \|onnx - predict\|" -- \
    "${CHECK[@]}" "$TMP/$name.onnx" "$TMP/$name.csv" --h5 "$data" --rows 400
  sed 's/^/    /' "$LAST_LOG"
}

# Synthetic clicks: dense, categorical (user, item, category) and a bag (recent_items).
"$ECTRAIN" generate --out "$TMP/gen/train.h5" --rows 4000 --test-rows 400 --users 300 --items 200 --categories 20 \
  --seed 3 >"$TMP/gen.log" 2>&1 || fail "generate data" "$TMP/gen.log"
read -r -a DATA <<<"$(sed -n 's/.*train on it with: //p' "$TMP/gen.log")"
GEN=("${DATA[@]}" --set train.global_batch_size=128)
DEEP=(--set model.embedding_dim=8 --set model.hidden_units=[16,8])
grep -vE "hidden_units|embedding_dim" configs/quickstart.yaml >"$TMP/base.yaml"
T=$TMP/gen/test.h5
train_export logistic "$T" "$TMP/base.yaml" "${GEN[@]}" --set model.type=logistic --set model.bag_pooling=sum
train_export mlp "$T" "$TMP/base.yaml" "${GEN[@]}" "${DEEP[@]}" --set model.type=mlp --set model.layer_norm=true \
  --set model.dropout=0.2 --set model.embedding_dropout=0.1 --set "model.parents={item: category}"
train_export wide_deep_dot "$T" "$TMP/base.yaml" "${GEN[@]}" "${DEEP[@]}" --set model.type=wide_deep --set model.interaction=dot \
  --set model.bag_pooling=sum
train_export deepfm "$T" "$TMP/base.yaml" "${GEN[@]}" "${DEEP[@]}" --set model.type=deepfm --set "model.parents={item: category}"
train_export dcn "$T" "$TMP/base.yaml" "${GEN[@]}" "${DEEP[@]}" --set model.type=dcn --set model.cross_layers=3 \
  --set model.layer_norm=true
train_export mf "$T" "$TMP/base.yaml" "${GEN[@]}" --set model.embedding_dim=8 --set model.type=mf --set data.user_column=user \
  --set data.item_column=item --set "model.parents={item: category}" --set model.embedding_dropout=0.1
train_export two_tower "$T" "$TMP/base.yaml" "${GEN[@]}" --set model.embedding_dim=8 --set model.type=two_tower \
  --set "model.user_fields=[user, recent_items]" --set model.dense_tower=item --set model.tower_units=[16,8] \
  --set model.layer_norm=true
train_export classifier_dot "$T" "$TMP/base.yaml" "${GEN[@]}" "${DEEP[@]}" --set model.type=classifier --set model.num_classes=2 \
  --set model.interaction=dot

# Prepared from a CSV: vocabularies, hashing, log and min-max scaling, a missing-value indicator;
# the sidecar alone must encode raw rows as predict does.
SHOP=datasets/online-shoppers-intention/online_shoppers_intention.csv
head -301 "$SHOP" >"$TMP/shop_raw.csv"
SHOPSETS=(--set "data.train=$TMP/shop/train.h5" --set "data.test=$TMP/shop/test.h5" --set "prepare.source=$SHOP"
          --set "prepare.log=[PageValues, ProductRelated_Duration]" --set "prepare.scale_by_column={Administrative: minmax}"
          --set "prepare.hash_buckets_by_column={TrafficType: 16}" --set "prepare.missing_indicator=[PageValues]"
          --set 'data.dense=[Administrative, Administrative_Duration, ProductRelated, ProductRelated_Duration, "BounceRates in %", PageValues, PageValues_missing]')
"$ECTRAIN" prepare configs/quickstart.yaml "${SHOPSETS[@]}" >"$TMP/shop_prepare.log" 2>&1 ||
  fail "prepare the shoppers CSV" "$TMP/shop_prepare.log"
train_export shop_wide_deep "$TMP/shop/test.h5" configs/quickstart.yaml "${SHOPSETS[@]}" --set model.type=wide_deep \
  --set model.hidden_units=[16]
"$ECTRAIN" predict --checkpoint "$TMP/shop_wide_deep/checkpoints" --input "$TMP/shop_raw.csv" \
  --output "$TMP/shop_raw_pred.csv" >"$TMP/shop_raw.log" 2>&1 || fail "shoppers: predict raw rows" "$TMP/shop_raw.log"
expect_exit "shoppers: onnxruntime on raw rows encoded from the sidecar = predict on them" 0 "300 rows" -- \
  "${CHECK[@]}" "$TMP/shop_wide_deep.onnx" "$TMP/shop_raw_pred.csv" --raw "$TMP/shop_raw.csv"
"$PY" - "$TMP/shop_wide_deep.onnx.json" >"$TMP/sidecar.log" 2>&1 <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
by = {i["name"]: i for i in s["inputs"]}
assert s["checkpoint_step"] > 0 and s["ectrain_version"] and s["model_type"] == "wide_deep", s
assert by["Month"]["vocabulary"]["Nov"] >= 1 and by["Month"]["unknown_id"] == 0, by["Month"]
assert by["TrafficType"]["encoding"] == "hash" and by["TrafficType"]["hash_buckets"] == 16
assert by["PageValues"]["preprocessing"]["log"] is True
assert by["Administrative"]["preprocessing"]["scale"] == "minmax"
assert any(i["preprocessing"].get("indicator_of") == "PageValues" for i in s["inputs"] if i["kind"] == "dense")
assert s["output"]["name"] == "probability" and s["output"]["label"] == "Revenue"
print("sidecar ok")
PYEOF
grep -q "sidecar ok" "$TMP/sidecar.log" && pass "shoppers: the sidecar holds vocabularies, hashing, scaling, step" ||
  fail "shoppers: the sidecar holds vocabularies, hashing, scaling, step" "$TMP/sidecar.log"

# A classifier over title tokens (a text bag) and a categorical column: class probabilities.
PRICE=datasets/pricerunner-product-classification/pricerunner_aggregate.csv
head -3001 "$PRICE" >"$TMP/price_raw.csv"
"$ECTRAIN" prepare --source "$PRICE" --label "Category Label" --categorical "Merchant ID" --text "Product Title" \
  --set prepare.label_type=class --set prepare.min_count=2 --train-out "$TMP/price/train.h5" \
  --test-out "$TMP/price/test.h5" >"$TMP/price_prepare.log" 2>&1 || fail "prepare pricerunner" "$TMP/price_prepare.log"
printf 'data:\n  train: %s\n  test: %s\n  label: Category Label\n  categorical: [Merchant ID]\n  multi_valued: [Product Title]\n' \
  "$TMP/price/train.h5" "$TMP/price/test.h5" >"$TMP/price.yaml"
train_export classifier "$TMP/price/test.h5" "$TMP/price.yaml" --set model.type=classifier --set model.num_classes=10 \
  --set model.embedding_dim=8 --set model.hidden_units=[16] --set train.global_batch_size=256
"$ECTRAIN" predict --checkpoint "$TMP/classifier/checkpoints" --input "$TMP/price_raw.csv" \
  --output "$TMP/price_raw_pred.csv" >"$TMP/price_raw.log" 2>&1 || fail "classifier: predict raw rows" "$TMP/price_raw.log"
expect_exit "classifier: onnxruntime on raw titles tokenized from the sidecar = predict" 0 "3000 rows" -- \
  "${CHECK[@]}" "$TMP/classifier.onnx" "$TMP/price_raw_pred.csv" --raw "$TMP/price_raw.csv"

# Ratings (regression): mf and two_tower on MovieLens' layout, with genres as a bag.
"$ECTRAIN" prepare --format movielens --source tests/fixtures/movielens-100k --label rating \
  --categorical user_id,item_id --multi-valued "genres:|" --set prepare.label_type=regression \
  --train-out "$TMP/ml/train.h5" --test-out "$TMP/ml/test.h5" >"$TMP/ml_prepare.log" 2>&1 ||
  fail "prepare movielens" "$TMP/ml_prepare.log"
printf 'data:\n  train: %s\n  test: %s\n  label: rating\n  categorical: [user_id, item_id]\n  multi_valued: [genres]\n  user_column: user_id\n  item_column: item_id\n' \
  "$TMP/ml/train.h5" "$TMP/ml/test.h5" >"$TMP/ml.yaml"
train_export mf_ratings "$TMP/ml/test.h5" "$TMP/ml.yaml" --set model.type=mf --set model.embedding_dim=8
train_export two_tower_ratings "$TMP/ml/test.h5" "$TMP/ml.yaml" --set model.type=two_tower \
  --set model.tower_units=[8] --set model.embedding_dim=8 --set model.bag_pooling=sum
grep -q '"name": "prediction"' "$TMP/mf_ratings.onnx.json" && pass "mf on ratings exports a prediction" ||
  fail "mf on ratings exports a prediction" "$TMP/mf_ratings.onnx.json"

# Errors.
CKPT="$TMP/mlp/checkpoints"
expect_exit "--out in a folder that does not exist: the path and the reason" 1 \
  "cannot write --out '$TMP/no/such/model.onnx': No such file or directory" -- \
  "$ECTRAIN" export --checkpoint "$CKPT" --out "$TMP/no/such/model.onnx"
expect_exit "--out a folder" 2 "is a folder" -- "$ECTRAIN" export --checkpoint "$CKPT" --out "$TMP"
expect_exit "a data file is not a checkpoint" 1 "test.h5 .*not an ectrain checkpoint" -- \
  "$ECTRAIN" export --checkpoint "$TMP/gen/test.h5" --out "$TMP/x.onnx"
expect_exit "a missing checkpoint" 1 "nothing_here" -- \
  "$ECTRAIN" export --checkpoint "$TMP/nothing_here" --out "$TMP/x.onnx"
expect_exit "an unknown --format" 2 "--format 'tflite' is not an export format; the formats are: onnx" -- \
  "$ECTRAIN" export --checkpoint "$CKPT" --format tflite --out "$TMP/x.onnx"
[ ! -e "$TMP/x.onnx" ] && [ ! -e "$TMP/x.onnx.json" ] && pass "a failed export writes nothing" ||
  fail "a failed export writes nothing"

finish export_test
