#!/usr/bin/env bash
# The datasets/*/fetch.sh scripts without the network: each answers --help; a file that is not
# the published one (--from) is refused by its sha256 with nothing installed and nothing left
# behind; with `taobao`, the real prefix (where fetched, else skipped) is installed from --from
# and a file that only starts the same way is refused.
# Usage: tests/e2e/fetch_test.sh path/to/ectrain [taobao]   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: fetch_test.sh path/to/ectrain [taobao]}")
source "$(dirname "$0")/lib.sh"

if [ "${2:-}" = taobao ]; then
  need_dataset taobao-userbehavior-prefix UserBehavior.csv
  REAL=$DATASET_DIR/UserBehavior.csv
  # The whole file from Tianchi starts with the prefix: a longer file gives the same prefix.
  { cat "$REAL"; echo ",1512282200"; echo "100370,1,2,pv,1512282300"; } >"$TMP/UserBehavior.csv"
  expect_exit "the first 3 MiB of a whole UserBehavior.csv are installed" 0 "sha256 9cbce278" -- \
    datasets/taobao-userbehavior-prefix/fetch.sh --from "$TMP/UserBehavior.csv" --dest "$TMP/data"
  cmp -s "$REAL" "$TMP/data/taobao-userbehavior-prefix/UserBehavior.csv" &&
    pass "the installed file is the prefix, byte for byte" || fail "the installed file differs from the prefix"
  (cd "$TMP" && zip -q whole.zip UserBehavior.csv)
  rm -rf "$TMP/data"
  expect_exit "Tianchi's zip is read as well" 0 "ready in" -- \
    datasets/taobao-userbehavior-prefix/fetch.sh --from "$TMP/whole.zip" --dest "$TMP/data"
  cmp -s "$REAL" "$TMP/data/taobao-userbehavior-prefix/UserBehavior.csv" &&
    pass "the prefix from the zip, byte for byte" || fail "the file installed from the zip differs from the prefix"
  finish fetch_taobao
  exit
fi

for script in datasets/*/fetch.sh; do
  expect_exit "$script --help" 0 "^Usage: datasets/" -- bash "$script" --help
done
echo "not a zip" >"$TMP/bad.zip"
for name in ml-100k ml-1m; do
  expect_exit "$name: a file that is not the published zip is refused" 1 \
    "ml-.*\.zip has sha256 [0-9a-f]+, expected [0-9a-f]+: not the published file.*nothing was installed" -- \
    datasets/$name/fetch.sh --from "$TMP/bad.zip" --dest "$TMP/data"
  if [ -z "$(ls -A "$TMP/data/$name")" ]; then
    pass "$name: nothing installed, no temporary folder left"
  else
    fail "$name: left $(ls -A "$TMP/data/$name")"
  fi
done
expect_exit "taobao: the fixture is not the published prefix" 1 "not the published file" -- \
  datasets/taobao-userbehavior-prefix/fetch.sh --from tests/fixtures/taobao/UserBehavior.csv --dest "$TMP/data"
[ -z "$(ls -A "$TMP/data/taobao-userbehavior-prefix")" ] && pass "taobao: nothing installed" ||
  fail "taobao: left $(ls -A "$TMP/data/taobao-userbehavior-prefix")"
expect_exit "an unknown argument is named" 1 "unknown argument '--bogus'" -- datasets/ml-1m/fetch.sh --bogus
expect_exit "--from a file that does not exist" 1 "--from: '$TMP/none.zip' is not a file" -- \
  datasets/ml-100k/fetch.sh --from "$TMP/none.zip" --dest "$TMP/data"
finish fetch
