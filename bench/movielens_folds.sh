#!/usr/bin/env bash
# MovieLens 100K ratings: the five standard folds u1..u5 (uK.base -> uK.test, 80/20), each
# prepared and trained with CONFIG (default configs/movielens_ratings.yaml) under mpirun -np RANKS
# (default 2); prints each fold's test RMSE and MAE and their means. The data is read from
# datasets/ml-100k (research use only, not redistributed: get it with datasets/ml-100k/fetch.sh), or
# $ECTRAIN_DATASETS/ml-100k when that is set. About a minute on 2 cores.
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
printf '| fold | test RMSE | test MAE |\n| --- | --- | --- |\n'
for k in 1 2 3 4 5; do
  dir=$OUT/u$k
  sets=(--set "data.train=$dir/train.h5" --set "data.test=$dir/test.h5" --set "train.output_dir=$dir/run")
  mkdir -p "$dir"
  "$ECTRAIN" prepare "$CONFIG" --set "prepare.source=$ML/u$k.base" --set "prepare.test_source=$ML/u$k.test" \
    "${sets[@]:0:4}" >"$dir.prepare.log" 2>&1 || { tail -20 "$dir.prepare.log"; exit 1; }
  mpirun -np "$RANKS" --oversubscribe --bind-to none "$ECTRAIN" train "$CONFIG" "${sets[@]}" --fresh >"$dir.train.log" 2>&1 ||
    { tail -20 "$dir.train.log"; exit 1; }
  line=$(grep '"event":"done"' "$dir/run/metrics.jsonl" | tail -1)
  rmse=$(sed -E 's/.*"rmse":([0-9.e+-]+).*/\1/' <<<"$line")
  mae=$(sed -E 's/.*"mae":([0-9.e+-]+).*/\1/' <<<"$line")
  printf '| u%d | %.4f | %.4f |\n' "$k" "$rmse" "$mae"
  echo "$rmse $mae" >>"$OUT/folds.$$"
done
awk '{ r += $1; m += $2 } END { printf "| mean | %.4f | %.4f |\n", r / NR, m / NR }' "$OUT/folds.$$"
rm -f "$OUT/folds.$$"
