#!/usr/bin/env bash
# MovieLens 100K ratings: the five standard folds u1..u5 (uK.base -> uK.test, 80/20), each
# prepared and trained with CONFIG (default configs/movielens_ratings.yaml) under mpirun -np RANKS
# (default 2); prints each fold's test RMSE and MAE and their means. When CONFIG makes a validation
# split (prepare.validation_fraction), each fold gets its own validation file taken from uK.base,
# the checkpoint is chosen on it, and the table adds the epochs run (early stopping), the kept
# checkpoint's step and its validation figures (the test figures are that checkpoint's, scored once
# at the end). The data is read from datasets/ml-100k (research use only, not redistributed: get it
# with datasets/ml-100k/fetch.sh), or $ECTRAIN_DATASETS/ml-100k when that is set. About 10 s on 2
# cores.
#   bench/movielens_folds.sh [CONFIG] [RANKS]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/movielens_ratings.yaml}
RANKS=${2:-2}
ML=${ECTRAIN_DATASETS:-datasets}/ml-100k
[ -f "$ML/u1.base" ] || { echo "no MovieLens 100K in $ML: run datasets/ml-100k/fetch.sh first" >&2; exit 1; }
ECTRAIN=${ECTRAIN:-build/src/ectrain}
[ -x "$ECTRAIN" ] || { echo "build first: cmake -S . -B build && make -C build -j ectrain" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=${OUT:-runs/movielens_folds}
mkdir -p "$OUT"
# A validation split when the config's prepare.validation_fraction is above 0.
VALIDATION=$("$ECTRAIN" config --no-data "$CONFIG" | awk '$1 == "validation_fraction:" && $2 + 0 > 0 { print 1 }')
# metric SET NAME LINE: NAME in the `test` or `validation` object of a done line (the delivered model's).
metric() { sed -E "s/.*\"$1\":\\{[^}]*\"$2\":([0-9.e+-]+).*/\\1/" <<<"$3"; }
if [ -n "$VALIDATION" ]; then
  printf '| fold | epochs run | kept step | validation RMSE | validation MAE | test RMSE | test MAE |\n'
  printf '| --- | --- | --- | --- | --- | --- | --- |\n'
else
  printf '| fold | test RMSE | test MAE |\n| --- | --- | --- |\n'
fi
for k in 1 2 3 4 5; do
  dir=$OUT/u$k
  sets=(--set "data.train=$dir/train.h5" --set "data.test=$dir/test.h5")
  [ -n "$VALIDATION" ] && sets+=(--set "data.validation=$dir/validation.h5")
  mkdir -p "$dir"
  "$ECTRAIN" prepare "$CONFIG" --set "prepare.source=$ML/u$k.base" --set "prepare.test_source=$ML/u$k.test" \
    "${sets[@]}" >"$dir.prepare.log" 2>&1 || { tail -20 "$dir.prepare.log"; exit 1; }
  mpirun -np "$RANKS" --oversubscribe --bind-to none "$ECTRAIN" train "$CONFIG" "${sets[@]}" \
    --set "train.output_dir=$dir/run" --fresh >"$dir.train.log" 2>&1 || { tail -20 "$dir.train.log"; exit 1; }
  line=$(grep '"event":"done"' "$dir/run/metrics.jsonl" | tail -1)
  rmse=$(metric test rmse "$line")
  mae=$(metric test mae "$line")
  if [ -n "$VALIDATION" ]; then
    epochs=$(sed -E 's/.*"epochs":([0-9]+).*/\1/' <<<"$line")
    step=$(sed -E 's/.*"best_step":([0-9]+).*/\1/' <<<"$line")
    printf '| u%d | %d | %d | %.4f | %.4f | %.4f | %.4f |\n' "$k" "$epochs" "$step" "$(metric validation rmse "$line")" \
      "$(metric validation mae "$line")" "$rmse" "$mae"
  else
    printf '| u%d | %.4f | %.4f |\n' "$k" "$rmse" "$mae"
  fi
  echo "$rmse $mae" >>"$OUT/folds.$$"
done
awk -v v="$VALIDATION" '{ r += $1; m += $2 } END {
  printf "| mean |%s %.4f | %.4f |\n", (v ? " | | | |" : ""), r / NR, m / NR }' "$OUT/folds.$$"
rm -f "$OUT/folds.$$"
