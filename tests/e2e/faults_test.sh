#!/usr/bin/env bash
# Faults and damaged files, end to end: nothing already written is lost and no wrong number is
# reported. A damaged `latest` pointer with valid checkpoints (resume from the newest verified
# one, saying why), damaged checkpoints (NaN, finite garbage, all of them), a second job in the
# same run folder, a refused resume that must not touch the folder, data encoded unlike the
# checkpoint's (vocabularies, label type), empty data, early stopping's outputs, ranks without
# rows, and SIGTERM to a launch script while a checkpoint takes seconds.
# Usage: tests/e2e/faults_test.sh path/to/ectrain path/to/damage_file   (from the repository top)
set -u
ECTRAIN=$(realpath "${1:?usage: faults_test.sh path/to/ectrain path/to/damage_file}")
DAMAGE=$(realpath "${2:?usage: faults_test.sh path/to/ectrain path/to/damage_file}")
source "$(dirname "$0")/lib.sh"
MPIRUN=(timeout 300 mpirun --bind-to none -np)

DATA="$TMP/data"
SETS=(--set "data.train=$DATA/train.h5" --set "data.test=$DATA/test.h5" --set train.log_every_steps=1000)
"$ECTRAIN" prepare configs/quickstart.yaml "${SETS[@]}" >"$TMP/prepare.log" 2>&1 || fail "prepare" "$TMP/prepare.log"
# 170 steps an epoch at batch 64; checkpoints at 50, 100, 150 and the end (200).
RUN="$TMP/run"
SHORT=("${SETS[@]}" --set "train.output_dir=$RUN" --set train.max_steps=200 --set checkpoint.every_steps=50
       --set checkpoint.keep_last=4)
"$ECTRAIN" train configs/quickstart.yaml "${SHORT[@]}" >"$TMP/short.log" 2>&1 || fail "a short run" "$TMP/short.log"
CKPTS="$RUN/checkpoints"
[ -f "$CKPTS/ckpt-000000150.h5" ] && [ -f "$CKPTS/ckpt-000000200.h5" ] && pass "a short run with 4 checkpoints" ||
  fail "a short run with 4 checkpoints: $(ls "$CKPTS")"

# --- resume whatever `latest` says ---
# damaged_latest NAME DAMAGE PATTERN: a copy of the run, `latest` damaged by DAMAGE (a shell
# command run in the copy's checkpoint folder); training on resumes from ckpt 200 and says why.
damaged_latest() {
  local name=$1 damage=$2 pattern=$3 copy="$TMP/$1"
  cp -a "$RUN" "$copy"
  (cd "$copy/checkpoints" && eval "$damage")
  expect_exit "latest $name: resume from the newest complete checkpoint" 0 \
    "$pattern.*using .*ckpt-000000200.h5, the newest that reads back whole" -- \
    "$ECTRAIN" train configs/quickstart.yaml "${SHORT[@]}" --set "train.output_dir=$copy" --set train.max_steps=250
  grep -q "resuming from $copy/checkpoints/ckpt-000000200.h5: step 200" "$LAST_LOG" &&
    pass "latest $name: resumed at step 200" || fail "latest $name: resumed at step 200" "$LAST_LOG"
  [ -f "$copy/checkpoints/ckpt-000000200.h5" ] && [ -f "$copy/checkpoints/ckpt-000000250.h5" ] &&
    pass "latest $name: nothing lost, the run went on to 250" || fail "latest $name: $(ls "$copy/checkpoints")"
}
damaged_latest missing "rm latest" "there is no 'latest' pointer in"
damaged_latest garbled "printf '\\001\\377junk' >latest" "latest is garbled"
damaged_latest dangling "echo ckpt-000000999.h5 >latest" "latest names ckpt-000000999.h5, which does not exist"
damaged_latest older "echo ckpt-000000050.h5 >latest" "latest names ckpt-000000050.h5, not the newest complete checkpoint"
# The newest file damaged: the one before it, the damage named.
cp -a "$RUN" "$TMP/cut_newest"
truncate -s 10000 "$TMP/cut_newest/checkpoints/ckpt-000000200.h5"
expect_exit "a truncated newest checkpoint is passed over, named" 0 \
  "passed over .*ckpt-000000200.h5: checkpoint .*ckpt-000000200.h5.*(corrupt|truncated)" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SHORT[@]}" --set "train.output_dir=$TMP/cut_newest" --resume
grep -q "resuming from $TMP/cut_newest/checkpoints/ckpt-000000150.h5" "$LAST_LOG" &&
  pass "--resume names the checkpoint it found" || fail "--resume names the checkpoint it found" "$LAST_LOG"
# Every checkpoint damaged: an error listing them, and the folder as it was.
cp -a "$RUN" "$TMP/all_bad"
for f in "$TMP"/all_bad/checkpoints/ckpt-*.h5; do truncate -s 5000 "$f"; done
before=$(cd "$TMP/all_bad" && find . -type f ! -name .lock -exec md5sum {} + | sort)
expect_exit "no checkpoint reads back: an error naming each, never a fresh start" 1 \
  "no checkpoint in .*all_bad/checkpoints reads back whole" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SHORT[@]}" --set "train.output_dir=$TMP/all_bad"
grep -q "ckpt-000000050.h5" "$LAST_LOG" && pass "each damaged checkpoint is named" || fail "each damaged checkpoint is named" "$LAST_LOG"
after=$(cd "$TMP/all_bad" && find . -type f ! -name .lock -exec md5sum {} + | sort)
[ "$before" = "$after" ] && pass "the folder is left as it was" || fail "the folder changed: $(diff <(echo "$before") <(echo "$after"))"

# --- a refused resume writes nothing ---
cp "$RUN/config.yaml" "$TMP/config.before"
lines=$(wc -l <"$RUN/metrics.jsonl")
expect_exit "a resume with another model is refused" 2 "is of another model" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SHORT[@]}" --set "model.hidden_units=[16]" --set train.max_steps=300
cmp -s "$TMP/config.before" "$RUN/config.yaml" && [ "$(wc -l <"$RUN/metrics.jsonl")" -eq "$lines" ] &&
  pass "the refused run left config.yaml and metrics.jsonl as they were" ||
  fail "the refused run changed config.yaml or metrics.jsonl"

# --- one job per run folder ---
LOCKED="$TMP/locked"
"$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$LOCKED" --set train.epochs=100000 \
  --set eval.every_epochs=0 >"$TMP/first.log" 2>&1 &
first=$!
for _ in $(seq 200); do grep -q "first step done" "$TMP/first.log" && break; sleep 0.05; done
expect_exit "a second job in the same run folder is refused, naming the first" 1 \
  "train.output_dir '$LOCKED' is in use by another training job \(host [^,]+, pid $first, started .*lock file $LOCKED/.lock" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$LOCKED"
[ "$(grep -c '"event":"start"' "$LOCKED/metrics.jsonl")" -eq 1 ] && pass "the second job wrote nothing there" ||
  fail "the second job wrote to metrics.jsonl" "$LOCKED/metrics.jsonl"
kill -TERM "$first"
wait "$first"
rc=$?
[ "$rc" -eq 3 ] && pass "the first job stops with a checkpoint (status 3)" || fail "the first job: status $rc" "$TMP/first.log"
expect_exit "once it has ended, the folder is free again" 0 "resuming from" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$LOCKED" --set train.max_steps=1

# --- damaged parameters: refused, named, never a hang ---
cp "$CKPTS/ckpt-000000200.h5" "$TMP/nan.h5"
"$DAMAGE" set "$TMP/nan.h5" params/output/bias nan --rechecksum
expect_exit "eval of a checkpoint holding NaN: an error naming the tensor" 1 \
  "tensor params/output/bias holds nan at row 0, column 0: the run that wrote it diverged" -- \
  "$ECTRAIN" eval --checkpoint "$TMP/nan.h5" --data "$DATA/test.h5"
expect_exit "predict with it: the same error, no -nan probabilities" 1 "holds nan" -- \
  "$ECTRAIN" predict --checkpoint "$TMP/nan.h5" --input "$DATA/test.h5" --output "$TMP/nan.csv"
cp "$CKPTS/ckpt-000000200.h5" "$TMP/garbage.h5"
"$DAMAGE" set "$TMP/garbage.h5" params/dense_0/weight 4099874
expect_exit "finite garbage in a tensor fails its checksum" 1 \
  "tensor params/dense_0/weight does not match its checksum: the file was damaged or changed after it was written" -- \
  "$ECTRAIN" eval --checkpoint "$TMP/garbage.h5" --data "$DATA/test.h5"
expect_exit "eval accepts a 'latest' pointer" 0 "checkpoint .*ckpt-000000200.h5 on" -- \
  "$ECTRAIN" eval --checkpoint "$CKPTS/latest" --data "$DATA/test.h5"

# --- data encoded unlike the checkpoint's, and empty data ---
OTHER="$TMP/other"
{ head -1 datasets/online-shoppers-intention/online_shoppers_intention.csv
  tail -n +2 datasets/online-shoppers-intention/online_shoppers_intention.csv | tac; } >"$TMP/reversed.csv"
"$ECTRAIN" prepare configs/quickstart.yaml --set "prepare.source=$TMP/reversed.csv" \
  --set "data.train=$OTHER/train.h5" --set "data.test=$OTHER/test.h5" >"$TMP/other.log" 2>&1
expect_exit "a file prepared with other vocabularies is refused, naming the column" 2 \
  "test.h5' was not encoded like the checkpoint's training data: column '[^']+' has another vocabulary" -- \
  "$ECTRAIN" eval --checkpoint "$CKPTS" --data "$OTHER/test.h5"
cp "$DATA/test.h5" "$TMP/empty.h5"
"$DAMAGE" empty "$TMP/empty.h5"
expect_exit "eval on a file with no rows is an error" 1 "empty.h5' has no rows" -- \
  "$ECTRAIN" eval --checkpoint "$CKPTS" --data "$TMP/empty.h5"
head -1 datasets/online-shoppers-intention/online_shoppers_intention.csv >"$TMP/header_only.csv"
expect_exit "prepare with an empty test_source names it" 2 "prepare.test_source '.*header_only.csv' has no rows" -- \
  "$ECTRAIN" prepare configs/quickstart.yaml --set "prepare.test_source=$TMP/header_only.csv" \
  --set "data.train=$TMP/empty/train.h5" --set "data.test=$TMP/empty/test.h5"
expect_exit "predict on a CSV with no rows is an error" 1 "header_only.csv' has no rows" -- \
  "$ECTRAIN" predict --checkpoint "$CKPTS" --input "$TMP/header_only.csv" --output "$TMP/none.csv"
# A ratings model (regression) on a ranking split (a binary label): refused, naming the label.
ML=tests/fixtures/movielens-100k
MLSETS=(--set "data.train=$TMP/ml/train.h5" --set "data.test=$TMP/ml/test.h5" --set "data.validation=$TMP/ml/validation.h5")
"$ECTRAIN" prepare configs/movielens_ratings.yaml --set "prepare.source=$ML/u1.base" \
  --set "prepare.test_source=$ML/u1.test" "${MLSETS[@]}" >"$TMP/ml.log" 2>&1
"$ECTRAIN" train configs/movielens_ratings.yaml "${MLSETS[@]}" --set "train.output_dir=$TMP/ml/run" --set train.epochs=1 \
  >>"$TMP/ml.log" 2>&1
"$ECTRAIN" prepare configs/movielens_ranking.yaml --set "prepare.source=$ML" \
  --set "data.train=$TMP/rank/train.h5" --set "data.test=$TMP/rank/test.h5" >>"$TMP/ml.log" 2>&1
expect_exit "an mf ratings checkpoint on the ranking split: the label is named" 2 \
  "column 'rating' is a binary label there but a regression label in training" -- \
  "$ECTRAIN" eval --checkpoint "$TMP/ml/run/checkpoints" --data "$TMP/rank/test.h5"

# --- early stopping delivers the best checkpoint ---
EARLY="$TMP/early"
# It chooses on a validation split; the test rows are scored once, on the checkpoint it keeps.
VSETS=(--set "data.train=$TMP/early_data/train.h5" --set "data.test=$TMP/early_data/test.h5"
       --set "data.validation=$TMP/early_data/validation.h5" --set prepare.validation_fraction=0.1)
"$ECTRAIN" prepare configs/quickstart.yaml "${VSETS[@]}" >"$TMP/prepare_validation.log" 2>&1 ||
  fail "prepare with a validation split" "$TMP/prepare_validation.log"
expect_exit "early stopping" 0 "early stopping: validation auc has not improved" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${VSETS[@]}" --set "train.output_dir=$EARLY" --set train.epochs=40 \
  --set optimizer.learning_rate=0.02 --set checkpoint.keep_best=auc --set eval.early_stopping_patience=1
done_line=$(grep '"event":"done"' "$EARLY/metrics.jsonl")
evals=$(grep -c '"event":"eval"' "$EARLY/metrics.jsonl")
epochs=$(sed -E 's/.*"epochs":([0-9]+).*/\1/' <<<"$done_line")
best_auc=$(grep '"event":"best"' "$EARLY/metrics.jsonl" | sed -E 's/.*"test":\{[^}]*"auc":([0-9.]+).*/\1/')
grep '"event":"eval"' "$EARLY/metrics.jsonl" | grep -q '"test"' &&
  fail "evaluations during training score the test rows" "$EARLY/metrics.jsonl" ||
  pass "evaluations during training score only the validation rows"
done_auc=$(sed -E 's/.*"test":\{[^}]*"auc":([0-9.]+).*/\1/' <<<"$done_line")
[ -n "$epochs" ] && [ "$epochs" -eq "$evals" ] && [ "$epochs" -lt 40 ] &&
  pass "the done line counts the $epochs epochs actually run" || fail "done line: $done_line ($evals evaluations)"
[ -n "$best_auc" ] && [ "$best_auc" = "$done_auc" ] && pass "the final metrics are the best checkpoint's (auc $best_auc)" ||
  fail "final metrics '$done_auc' vs the best checkpoint's '$best_auc'" "$EARLY/metrics.jsonl"
[ "$(wc -l <"$EARLY/test_predictions.csv")" -gt 1000 ] && pass "test_predictions.csv from the best checkpoint" ||
  fail "no test_predictions.csv after early stopping"
expect_exit "eval accepts the 'best' pointer and gives the same AUC" 0 \
  "auc $(LC_ALL=C printf '%.4f' "${best_auc:-0}")" -- "$ECTRAIN" eval --checkpoint "$EARLY/checkpoints/best"
expect_exit "keep_best without a validation set is refused, naming the keys" 2 \
  "checkpoint.keep_best chooses on the validation rows, and data.validation is empty" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$TMP/no_validation" \
  --set checkpoint.keep_best=auc

# --- ranks that receive no rows ---
expect_exit "4 ranks on data of 3 blocks: a warning names the ranks without rows" 0 \
  "WARNING: rank\(s\) 3 of 4 received no training rows in epoch 1.*lower data.block_rows" -- \
  "${MPIRUN[@]}" 4 --oversubscribe "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" \
  --set "train.output_dir=$TMP/four" --set train.epochs=2 --set data.shuffle_window_blocks=4
[ "$(grep -c 'received no training rows' "$LAST_LOG")" -eq 1 ] && pass "the warning comes once" ||
  fail "the warning comes once" "$LAST_LOG"

# --- SIGTERM to the launch script while a checkpoint takes seconds ---
"$ECTRAIN" generate --out "$TMP/big/train.h5" --rows 20000 --test-rows 1000 --users 1500000 --items 100000 \
  --recent-items 0 >"$TMP/big.log" 2>&1
BIG=(--set "data.train=$TMP/big/train.h5" --set "data.test=$TMP/big/test.h5" --set data.label=clicked
     --set "data.dense=[d0,d1,d2,d3,d4,d5]" --set "data.categorical=[user,item,category]" --set model.embedding_dim=32
     --set train.epochs=100000 --set eval.every_epochs=0 --set "train.output_dir=$TMP/big/run")
ECTRAIN="$ECTRAIN" launch/mpirun.sh -n 2 configs/quickstart.yaml "${BIG[@]}" >"$TMP/big_run.log" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "first step done" "$TMP/big_run.log" && break; sleep 0.05; done
kill -TERM "$job"
wait "$job"
rc=$?
ckpt=$(cat "$TMP/big/run/checkpoints/latest" 2>/dev/null)
size=$(stat -c %s "$TMP/big/run/checkpoints/$ckpt" 2>/dev/null || echo 0)
if [ "$rc" -eq 3 ] && [ "$size" -gt 100000000 ] && ! ls "$TMP"/big/run/checkpoints/.*.tmp >/dev/null 2>&1; then
  pass "SIGTERM to launch/mpirun.sh: a complete $((size / 1000000)) MB checkpoint and status 3"
else
  fail "SIGTERM to launch/mpirun.sh: status $rc, checkpoint '$ckpt' of $size bytes" "$TMP/big_run.log"
fi
expect_exit "the stopped run resumes from it" 0 "resuming from .*$ckpt" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${BIG[@]}" --set train.max_steps=1 --set train.epochs=1

finish faults
