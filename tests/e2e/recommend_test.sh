#!/usr/bin/env bash
# End-to-end: recommendation on data in MovieLens 100K's layout: prepare with each user's latest
# liked movie held out and sampled negatives, train a two_tower model under mpirun, then
# `ectrain recommend` for one user, a file of users, the ranking evaluation against the
# most-popular baseline, and its errors. DATA is `fixture` (tests/fixtures/movielens-100k: the
# mechanics) or `ml-100k` (the real set, where fetched: also the model beats the baseline;
# skipped otherwise).
# Usage: tests/e2e/recommend_test.sh path/to/ectrain DATA   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: recommend_test.sh path/to/ectrain fixture|ml-100k}")
DATA=${2:?usage: recommend_test.sh path/to/ectrain fixture|ml-100k}
source "$(dirname "$0")/lib.sh"
if [ "$DATA" = fixture ]; then
  ML=tests/fixtures/movielens-100k
else
  need_dataset ml-100k u.data
  ML=$DATASET_DIR
fi
CONFIG=configs/movielens_ranking.yaml
USER_ID=$([ "$DATA" = fixture ] && echo 3 || echo 42)
RATINGS=$(wc -l <"$ML/u.data")
LIKERS=$(awk '$3 >= 4 { print $1 }' "$ML/u.data" | sort -u | wc -l)  # users with a held-out liked movie
SETS=(--set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" --set "train.output_dir=$TMP/run"
      --set "prepare.source=$ML")

expect_exit "prepare: latest liked movie per user held out, 4 sampled negatives per liked one" 0 \
  "$RATINGS rows read, 0 exact duplicates dropped, [0-9]+ sampled negative rows added to train" -- \
  "$ECTRAIN" prepare "$CONFIG" "${SETS[@]}"
expect_exit "prepare: one test row per user who liked something" 0 "test: .*test.h5 \($LIKERS rows\)" -- \
  cat "$LAST_LOG"
expect_exit "train two_tower with 2 ranks" 0 "done: " -- \
  mpirun --bind-to none -np 2 "$ECTRAIN" train "$CONFIG" "${SETS[@]}" --set train.epochs=3
# Held-out positives with the user and item named: training's evaluations are rankings too.
if grep '"event":"eval"' "$TMP/run/metrics.jsonl" | grep -q '"test":{"count":[0-9]*,"hr@10":[0-9.e-]*,"ndcg@10"' &&
  ! grep -q '"auc"' "$TMP/run/metrics.jsonl"; then
  pass "training evaluated the test rows as a ranking (hr@10, ndcg@10, recall@10; no auc)"
else
  fail "training's evaluations are not rankings" "$TMP/run/metrics.jsonl"
fi
expect_exit "top 5 movies for user $USER_ID, with scores" 0 "^5\. item_id [0-9]+  score 0\.[0-9]+" -- \
  "$ECTRAIN" recommend --checkpoint "$TMP/run/checkpoints" --user "$USER_ID" --k 5
# None of them is a movie the user rated in training (only the held-out one may appear).
top=$(grep -E '^[0-9]+\. item_id' "$LAST_LOG" | awk '{ print $3 }' | sort -u)
rated=$(awk -v u="$USER_ID" '$1 == u { print $2 }' "$ML/u.data" | sort -u)
overlap=$(comm -12 <(echo "$top") <(echo "$rated") | wc -l)
if [ "$(echo "$top" | wc -l)" -eq 5 ] && [ "$overlap" -le 1 ]; then
  pass "recommendations leave out what the user rated in training"
else
  fail "recommended $overlap movies user $USER_ID already rated" "$LAST_LOG"
fi
printf '1\n%s\n\n7\n' "$USER_ID" >"$TMP/users.txt"
expect_exit "batch form: a CSV for a file of users" 0 "" -- \
  "$ECTRAIN" recommend --checkpoint "$TMP/run/checkpoints" --users "$TMP/users.txt" --k 3 --output "$TMP/recs.csv"
if [ "$(head -1 "$TMP/recs.csv")" = "user,rank,item,score" ] && [ "$(tail -n +2 "$TMP/recs.csv" | wc -l)" -eq 9 ]; then
  pass "batch CSV has 3 users x 3 rows"
else
  fail "batch CSV" "$TMP/recs.csv"
fi
expect_exit "ranking evaluation of every user with a held-out movie" 0 "$LIKERS users" -- \
  "$ECTRAIN" recommend --checkpoint "$TMP/run/checkpoints" --evaluate "$TMP/test.h5" --k 10
model_hr=$(sed -nE 's/.*model \(two_tower\): +hr@10 ([0-9.]+).*/\1/p' "$LAST_LOG")
popular_hr=$(sed -nE 's/.*most popular: hr@10 ([0-9.]+).*/\1/p' "$LAST_LOG")
if [ "$DATA" = fixture ]; then
  # A dozen users say nothing about quality; the figures must be there and be rates.
  if awk -v m="$model_hr" -v p="$popular_hr" 'BEGIN { exit !(m != "" && p != "" && m >= 0 && m <= 1 && p >= 0 && p <= 1) }'; then
    pass "HR@10 reported for the model ($model_hr) and the most-popular baseline ($popular_hr)"
  else
    fail "HR@10 '$model_hr' and '$popular_hr'" "$LAST_LOG"
  fi
elif awk -v m="$model_hr" -v p="$popular_hr" 'BEGIN { exit !(m > p && p > 0) }'; then
  pass "HR@10 $model_hr > most popular $popular_hr"
else
  fail "HR@10 $model_hr vs most popular $popular_hr" "$LAST_LOG"
fi
expect_exit "an unknown user is an error naming it" 1 "user 'nobody' has no rows in the training data" -- \
  "$ECTRAIN" recommend --checkpoint "$TMP/run/checkpoints" --user nobody
expect_exit "recommend needs --user, --users or --evaluate" 2 "give --user, --users or --evaluate" -- \
  "$ECTRAIN" recommend --checkpoint "$TMP/run/checkpoints"
finish recommend
