#!/usr/bin/env bash
# Peak resident memory against what training must hold (issue "Speed": peak RSS <= 1.3x parameters,
# gradients, optimizer state and batch buffers, plus the data the rank holds). 1 rank, one epoch;
# ectrain reports both in the done line of metrics.jsonl: peak_rss_mb (getrusage), state_mb
# (parameters, the gradient arena's whole tensors, the compact gradient rows of row-sparse tables,
# optimizer state), reader_bound_mb (the reader's buffers, their bound), checkpoint_snapshot_mb.
# Models (data from `ectrain generate`, 5,000 test rows, batch 4096, mlp 64 -> 32, Adam):
#   large: user and item tables of USERS x 32 and ITEMS x 32 (default 1M each: 64M parameters),
#          ROWS rows, and the same with checkpoint.every_steps=50 (a snapshot for the writer);
#   small: the default generated tables (a few thousand ids), the fixed costs' share.
# Usage: bench/memory.sh   (from anywhere, after launch/setup.sh; about 2 minutes)
# Environment: ROWS (500000), USERS (1000000), ITEMS (1000000).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROWS=${ROWS:-500000}
USERS=${USERS:-1000000}
ITEMS=${ITEMS:-1000000}
bench_tmp ectrain_memory
private_ectrain

"$ECTRAIN" generate --out "$TMP/large/train.h5" --rows "$ROWS" --users "$USERS" --items "$ITEMS" --recent-items 0 --test-rows 5000 \
  --seed 3 >"$TMP/generate_large.log" 2>&1 || { tail "$TMP/generate_large.log"; exit 1; }
"$ECTRAIN" generate --out "$TMP/small/train.h5" --rows "$ROWS" --recent-items 0 --test-rows 5000 --seed 3 >"$TMP/generate_small.log" 2>&1 ||
  { tail "$TMP/generate_small.log"; exit 1; }

config() {  # config DATA_DIR: a config training one epoch on DATA_DIR
  cat <<YAML
data:
  train: $1/train.h5
  test: $1/test.h5
  label: clicked
  dense: [d0, d1, d2, d3, d4, d5]
  categorical: [user, item, category]
model:
  type: mlp
  embedding_dim: 32
  hidden_units: [64, 32]
train:
  epochs: 1
  global_batch_size: 4096
YAML
}
config "$TMP/large" >"$TMP/large.yaml"
config "$TMP/small" >"$TMP/small.yaml"

echo "machine: $NCORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F);" \
  "ectrain $(git describe --always --dirty 2>/dev/null || echo unknown); 1 rank, one epoch of $ROWS generated rows, batch 4096"
echo
echo "| model | parameters | must hold (MB): state + reader (+ snapshot) | peak RSS (MB) | ratio |"
echo "| --- | --- | --- | --- | --- |"
row() {  # row LABEL YAML [--set ...]
  local label=$1 yaml=$2 dir
  shift 2
  dir=$TMP/run_$RANDOM
  measured "$ECTRAIN" train "$yaml" --set "train.output_dir=$dir" "$@" >"$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
  local m=$dir/metrics.jsonl params
  params=$(grep -m1 -oE 'parameters [0-9]+' "$dir.log" | grep -oE '[0-9]+$')
  awk -v l="$label" -v n="${params:-?}" -v s="$(field "$m" state_mb)" -v r="$(field "$m" reader_bound_mb)" \
    -v c="$(field "$m" checkpoint_snapshot_mb)" -v p="$(field "$m" peak_rss_mb)" -v f="$FOREIGN" \
    'BEGIN { need = s + r + c; printf "| %s | %s | %.1f + %.1f%s = %.1f | %.1f | %.2f |\n", l, n, s, r,
      (c > 0 ? sprintf(" + %.1f", c) : ""), need, p, p / need }'
  rm -rf "$dir"
}
row "user and item tables of ${USERS} x 32 and ${ITEMS} x 32" "$TMP/large.yaml"
row "the same, checkpoint.every_steps=50" "$TMP/large.yaml" --set checkpoint.every_steps=50
row "default generated tables" "$TMP/small.yaml"
