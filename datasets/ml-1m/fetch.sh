#!/usr/bin/env bash
# Downloads MovieLens 1M from GroupLens (https://files.grouplens.org/datasets/movielens/ml-1m.zip),
# checks its sha256 and unpacks it into datasets/ml-1m/ (ratings.dat, users.dat, movies.dat and
# GroupLens' README with the terms of use): 1,000,209 ratings of 3,706 movies by 6,040 users,
# read by `prepare.format: movielens` (configs/movielens1m_ratings.yaml). ectrain does not ship
# the data: GroupLens' terms allow research use and forbid redistribution.
# Usage: datasets/ml-1m/fetch.sh [--from ml-1m.zip] [--dest DIR]
#   --from FILE  use a copy of ml-1m.zip downloaded by hand (checked the same way)
#   --dest DIR   put the files in DIR/ml-1m/ instead (then set ECTRAIN_DATASETS=DIR for the tests)
source "$(dirname "$0")/../fetch_lib.sh"

fetch_data() {
  local zip=${1:-$3/ml-1m.zip} out=$2
  [ -n "$1" ] || fetch_download https://files.grouplens.org/datasets/movielens/ml-1m.zip "$zip"
  fetch_check_sha256 "$zip" a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20 ml-1m.zip
  fetch_unzip "$zip" ml-1m "$out"
}
fetch_main ml-1m "$@"
