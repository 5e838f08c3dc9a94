#!/usr/bin/env bash
# Import throughput of `ectrain prepare` (both passes and the HDF5 writes, end to end): rows/s and
# MB/s of input, median of 3 runs, for
#   - a generic CSV generated here (ROWS rows, default 1,000,000: 4 dense with missing values,
#     4 categorical, a '|'-separated multi-valued column and a short quoted title tokenized as text),
#   - the Criteo sample (datasets/criteo-deepctr-sample) replicated to ROWS rows in the released layout
#     (tab-separated, no header), 13 dense (log) and 26 categorical columns. Its rows repeat, so
#     duplicate removal is off for it (it would keep 200 rows and skip the writes).
# Usage: bench/import_throughput.sh [ECTRAIN_BINARY]   (ROWS=..., RUNS=..., KEEP=1 to keep files)
# Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ECTRAIN=$(realpath "${1:-${ECTRAIN_BUILD_DIR:-build}/src/ectrain}")
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ectrain_import_bench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# The generic CSV: deterministic (awk's srand), with quotes, empty values and a long tail of ids.
awk -v rows="$ROWS" 'BEGIN {
  srand(7);
  split("de fr it es nl pl se us", country, " ");
  split("mobile desktop tablet", device, " ");
  split("red blue green black white silver gold", colour, " ");
  split("phone tv laptop fridge camera washer oven", kind, " ");
  print "user,item,country,device,price,views,dwell_seconds,rating,tags,title,bought";
  for (r = 0; r < rows; r++) {
    views = (rand() < 0.05) ? "" : int(exp(rand() * 8));
    rating = (rand() < 0.2) ? "NA" : sprintf("%.1f", 1 + 4 * rand());
    tags = colour[1 + int(rand() * 7)] "|" kind[1 + int(rand() * 7)];
    title = "\"" kind[1 + int(rand() * 7)] " " colour[1 + int(rand() * 7)] " " int(rand() * 100) "gb, model " int(rand() * 5000) "\"";
    printf "u%d,i%d,%s,%s,%.2f,%s,%d,%s,%s,%s,%d\n", int(rand() * 100000), int(rand() * 20000), \
      country[1 + int(rand() * 8)], device[1 + int(rand() * 3)], rand() * 500, views, int(rand() * 600), rating, \
      tags, title, (rand() < 0.1)
  }
}' >"$WORK/shop.csv"

# Criteo: the sample's 200 rows without the header, tab-separated, repeated.
tail -n +2 datasets/criteo-deepctr-sample/criteo_sample.txt | tr ',' '\t' >"$WORK/block.txt"
: >"$WORK/criteo.txt"
block_rows=$(wc -l <"$WORK/block.txt")
for ((i = 0; i * block_rows < ROWS; i++)); do cat "$WORK/block.txt"; done >"$WORK/criteo.txt"
head -n "$ROWS" "$WORK/criteo.txt" >"$WORK/criteo_rows.txt" && mv "$WORK/criteo_rows.txt" "$WORK/criteo.txt"

dense_i=$(printf 'I%d,' $(seq 1 13)); dense_i=${dense_i%,}
cat_c=$(printf 'C%d,' $(seq 1 26)); cat_c=${cat_c%,}
generic=(prepare --source "$WORK/shop.csv" --label bought --dense price,views,dwell_seconds,rating
         --categorical user,item,country,device --multi-valued "tags:|" --text title
         --set "prepare.log=[views, dwell_seconds]" --set "prepare.fill_by_column={rating: median}"
         --train-out "$WORK/out/train.h5" --test-out "$WORK/out/test.h5")
criteo=(prepare --format criteo --source "$WORK/criteo.txt" --set "prepare.log=[$dense_i]"
        --set prepare.drop_duplicates=false --train-out "$WORK/out/train.h5" --test-out "$WORK/out/test.h5")

# Median wall time of RUNS runs, in seconds.
median_seconds() {
  local times=()
  for ((run = 0; run < RUNS; run++)); do
    local start end
    start=$(date +%s.%N)
    "$ECTRAIN" "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; exit 1; }
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

row() {  # name file rows seconds
  local bytes
  bytes=$(stat -c %s "$2")
  awk -v name="$1" -v rows="$3" -v bytes="$bytes" -v s="$4" 'BEGIN {
    printf "| %s | %d | %.1f | %.2f | %.0f | %.1f |\n", name, rows, bytes / 1e6, s, rows / s, bytes / 1e6 / s }'
}

generic_s=$(median_seconds "${generic[@]}")
generic_summary=$(grep -E "rows read|train:" "$WORK/last.log" | tr -s ' ' | paste -sd' ')
criteo_s=$(median_seconds "${criteo[@]}")
criteo_summary=$(grep -E "rows read|train:" "$WORK/last.log" | tr -s ' ' | paste -sd' ')

echo "ectrain prepare, median of $RUNS runs ($(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'))"
echo
echo "| input | rows | MB | seconds | rows/s | MB/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "generic CSV (4 dense, 4 categorical, tags, title text; dedupe on)" "$WORK/shop.csv" "$ROWS" "$generic_s"
row "Criteo TSV, no header (13 dense with log, 26 categorical; dedupe off)" "$WORK/criteo.txt" "$ROWS" "$criteo_s"
echo
echo "generic: $generic_summary"
echo "criteo:  $criteo_summary"
