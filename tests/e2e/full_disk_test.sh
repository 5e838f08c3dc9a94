#!/usr/bin/env bash
# A disk that fills up while a run checkpoints (a tmpfs as train.output_dir): the job stops at
# the step it learns of it, with one message naming the file and "No space left on device", the
# previous checkpoint intact and no temporary file left; the run resumes once there is room.
# Needs to mount a tmpfs (root); elsewhere it is skipped, saying so.
# Usage: tests/e2e/full_disk_test.sh path/to/ectrain   (from the repository top)
set -u
ECTRAIN=$(realpath "${1:?usage: full_disk_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
DISK="$TMP/disk"
mkdir -p "$DISK"
# 250k users x 16 with Adam: about 48 MB a checkpoint; 120 MB hold two, not a third.
if ! mount -t tmpfs -o size=120m tmpfs "$DISK" 2>"$TMP/mount.log"; then
  echo "SKIPPED: ${TEST_NAME:-full_disk_test}: needs to mount a tmpfs ($(head -1 "$TMP/mount.log"))"
  exit 77
fi
trap 'umount "$DISK" 2>/dev/null; pkill -9 -f "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
"$ECTRAIN" generate --out "$TMP/data/train.h5" --rows 40000 --test-rows 1000 --users 250000 --items 1000 \
  --recent-items 0 >"$TMP/generate.log" 2>&1
RUN=(train configs/quickstart.yaml --set "data.train=$TMP/data/train.h5" --set "data.test=$TMP/data/test.h5"
     --set data.label=clicked --set "data.dense=[d0,d1,d2,d3,d4,d5]" --set "data.categorical=[user,item,category]"
     --set model.embedding_dim=16 --set train.epochs=1000 --set eval.every_epochs=0 --set checkpoint.every_steps=20
     --set checkpoint.keep_last=3 --set "train.output_dir=$DISK/run")
expect_exit "a full disk stops the job with the file and the reason" 1 \
  "cannot write checkpoint $DISK/run/checkpoints/.ckpt-000000060.h5.tmp: No space left on device \(it needs about [0-9.]+ MB and [0-9.]+ MB are free\); the previous checkpoint is intact" -- \
  "$ECTRAIN" "${RUN[@]}"
[ "$(grep -c 'No space left on device' "$LAST_LOG")" -eq 1 ] && ! grep -q "HDF5-DIAG" "$LAST_LOG" &&
  pass "said once, without HDF5's stack dump" || fail "said once, without HDF5's stack dump" "$LAST_LOG"
grep -q "ckpt-000000080" "$LAST_LOG" && fail "the job went on to the next checkpoint" "$LAST_LOG" ||
  pass "the job stopped before its next checkpoint"
ls -A "$DISK/run/checkpoints" | grep -q "tmp" && fail "a temporary file is left: $(ls -A "$DISK/run/checkpoints")" ||
  pass "no temporary file left on the full disk"
[ "$(cat "$DISK/run/checkpoints/latest")" = ckpt-000000040.h5 ] && pass "latest names the previous checkpoint" ||
  fail "latest: $(cat "$DISK/run/checkpoints/latest")"
rm "$DISK/run/checkpoints/ckpt-000000020.h5"  # room for one more
expect_exit "with room again the run resumes from the previous checkpoint" 0 "resuming from .*ckpt-000000040.h5" -- \
  "$ECTRAIN" "${RUN[@]}" --set train.max_steps=60
finish full_disk
