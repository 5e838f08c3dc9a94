#!/usr/bin/env bash
# Throughput of `ectrain generate`: rows/s and MB/s (bytes on disk) writing ROWS synthetic click
# rows (default 10M) as SHARDS files, with the default compression (shuffle + deflate 1) and
# without (--deflate 0); the median of ROUNDS runs each (default 3), each run on a quiet machine
# (bench/lib.sh), the configurations alternating. Prints a markdown table.
# Usage: bench/generate_throughput.sh   (from the top of the repository; ECTRAIN_BUILD_DIR, ROWS, ROUNDS, SHARDS)
set -eu
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-10000000}
ROUNDS=${ROUNDS:-3}
SHARDS=${SHARDS:-4}
bench_tmp generate_throughput
cpu_cgroup
private_ectrain

CONFIGS=("deflate1" "deflate0")
run() {  # run ROUND CONFIG: one generation, its figures appended to $TMP/CONFIG.txt
  local round=$1 config=$2 level out log seconds bytes
  level=${config#deflate}
  out="$TMP/out_$config"
  log="$TMP/$config.$round.log"
  rm -rf "$out"
  measured "$ECTRAIN" generate --out "$out" --rows "$ROWS" --shards "$SHARDS" --deflate "$level" --seed "$round" \
    >"$log" 2>&1 || { tail -20 "$log"; exit 1; }
  seconds=$(sed -nE 's/^generated .* in ([0-9.]+) s: .*/\1/p' "$log")
  bytes=$(du -sb "$out" | cut -f1)
  # round, rows/s, MB/s, seconds, MB, foreign load, positive rate
  echo "$round $(awk -v r="$ROWS" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }') \
$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.1f", b / 1e6 / s }') $seconds \
$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') $FOREIGN \
$(sed -nE 's/.*positive rate ([0-9.]+) \(target.*/\1/p' "$log")" >>"$TMP/$config.txt"
  echo "round $round $config: $(tail -1 "$TMP/$config.txt")" >&2
  rm -rf "$out"
}
in_rounds "$ROUNDS" run

echo
echo "\`ectrain generate --rows $ROWS --shards $SHARDS\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), median of $ROUNDS:"
echo
echo "| compression | rows/s | MB/s on disk | seconds | size | bytes/row | positive rate |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for config in "${CONFIGS[@]}"; do
  name=$([ "$config" = deflate1 ] && echo "shuffle + deflate 1 (default)" || echo "none (--deflate 0)")
  mb=$(col "$config" 5)
  echo "| $name | $(col "$config" 2 | awk '{ printf "%.0fk", $1 / 1e3 }') | $(col "$config" 3) | $(col "$config" 4) |" \
    "$mb MB | $(awk -v m="$mb" -v r="$ROWS" 'BEGIN { printf "%.1f", m * 1e6 / r }') | $(col "$config" 7) |"
done
echo
foreign_summary 6 "$TMP"/deflate1.txt "$TMP"/deflate0.txt
