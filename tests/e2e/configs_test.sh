#!/usr/bin/env bash
# Every config in configs/ is valid (its keys; its data is not prepared yet), and those whose data
# is bundled (datasets/) prepare and train from a clone as they stand: PriceRunner's classifier
# reaches its documented accuracy.
# Usage: tests/e2e/configs_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: configs_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

for config in configs/*.yaml; do
  expect_exit "$config is a valid configuration" 0 "" -- "$ECTRAIN" config --no-data "$config"
done
PR=(--set "data.train=$TMP/pr/train.h5" --set "data.test=$TMP/pr/test.h5" --set "data.validation=$TMP/pr/validation.h5"
    --set "train.output_dir=$TMP/pr/run")
expect_exit "configs/pricerunner.yaml prepares the bundled titles" 0 "35311 rows read" -- \
  "$ECTRAIN" prepare configs/pricerunner.yaml "${PR[@]}"
# The checkpoint is chosen on the validation rows (early stopping may end it before epoch 8); the
# test accuracy is that checkpoint's.
expect_exit "configs/pricerunner.yaml trains with 2 ranks" 0 "done: [1-8] epochs" -- \
  timeout 300 mpirun --bind-to none -np 2 "$ECTRAIN" train configs/pricerunner.yaml "${PR[@]}"
accuracy=$(sed -nE "s/.*final test log_loss [0-9.]+ +accuracy ([0-9.]+).*/\\1/p" "$LAST_LOG")
if awk -v a="${accuracy:-0}" 'BEGIN { exit !(a >= 0.95) }'; then
  pass "PriceRunner test accuracy $accuracy >= 0.95"
else
  fail "PriceRunner test accuracy '$accuracy' >= 0.95" "$LAST_LOG"
fi
finish configs
