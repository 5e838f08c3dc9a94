#!/usr/bin/env bash
# Downloads MovieLens 100K from GroupLens (https://files.grouplens.org/datasets/movielens/ml-100k.zip),
# checks its sha256 and unpacks it into datasets/ml-100k/ (u.data, u.item, u.user, u.genre, the
# folds u1..u5.base/.test, GroupLens' README with the terms of use), where configs/movielens_*.yaml
# and the tests look for it. ectrain does not ship the data: GroupLens' terms allow research use
# and forbid redistribution.
# Usage: datasets/ml-100k/fetch.sh [--from ml-100k.zip] [--dest DIR]
#   --from FILE  use a copy of ml-100k.zip downloaded by hand (checked the same way)
#   --dest DIR   put the files in DIR/ml-100k/ instead (then set ECTRAIN_DATASETS=DIR for the tests)
source "$(dirname "$0")/../fetch_lib.sh"

fetch_data() {
  local zip=${1:-$3/ml-100k.zip} out=$2
  [ -n "$1" ] || fetch_download https://files.grouplens.org/datasets/movielens/ml-100k.zip "$zip"
  fetch_check_sha256 "$zip" 50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229 ml-100k.zip
  fetch_unzip "$zip" ml-100k "$out"
}
fetch_main ml-100k "$@"
