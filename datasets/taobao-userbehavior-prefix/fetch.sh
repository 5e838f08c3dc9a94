#!/usr/bin/env bash
# Puts the first 3 MiB of Taobao's UserBehavior.csv (Alibaba, Tianchi data set 649: user, item,
# category, behaviour pv/cart/fav/buy, Unix time; 84,475 whole rows of 815 users and a cut last
# line) into datasets/taobao-userbehavior-prefix/UserBehavior.csv, where the tests look for it.
# ectrain does not ship it: Tianchi's terms allow research use only. The whole file (3.5 GB) needs
# a Tianchi account; without --from, the same 3 MiB prefix is downloaded from a public copy
# (github.com/Haohanblue/mydeep, commit 435ee25). Either way its sha256 is checked.
# Usage: datasets/taobao-userbehavior-prefix/fetch.sh [--from UserBehavior.csv|.zip] [--dest DIR]
#   --from FILE  the whole UserBehavior.csv (or Tianchi's UserBehavior.csv.zip) downloaded by hand:
#                its first 3,178,496 bytes are taken and checked
#   --dest DIR   put the file in DIR/taobao-userbehavior-prefix/ instead (then set ECTRAIN_DATASETS=DIR)
source "$(dirname "$0")/../fetch_lib.sh"

PREFIX_BYTES=3178496
fetch_data() {
  local from=$1 out=$2 work=$3
  if [ -z "$from" ]; then
    fetch_download https://raw.githubusercontent.com/Haohanblue/mydeep/435ee2510b3bc975f6722ee3399dff91e496e31b/mydeep/UserBehavior.csv \
      "$work/download.csv"
    from=$work/download.csv
  fi
  case $from in
    *.zip) (fetch_unzip_member "$from" UserBehavior.csv || true) | head -c "$PREFIX_BYTES" >"$out/UserBehavior.csv" ;;
    *) head -c "$PREFIX_BYTES" "$from" >"$out/UserBehavior.csv" ;;
  esac
  fetch_check_sha256 "$out/UserBehavior.csv" 9cbce278d485d50954029082dd1b22f0dc78dc38776f58d953f0cbe18d6608b4 \
    "the first $PREFIX_BYTES bytes of $(basename "$from")"
}
fetch_main taobao-userbehavior-prefix "$@"
