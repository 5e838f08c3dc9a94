#!/usr/bin/env bash
# The streaming training reader (data/stream_reader.h), three figures, medians of RUNS rounds:
#  (a) read throughput per rank (rows/s) of the reader against a plain sequential H5Dread loop over
#      the same file and columns (8 float32, 8 int32 ids, a label; chunks of 4096 rows, shuffle +
#      deflate), on ROWS rows (default 10M); 1 rank, and 2 ranks as two processes at once;
#  (b) the share of the step time training waited for data (ectrain train, 1 and 2 MPI ranks,
#      global batch 1024, one epoch of the same file);
#  (c) peak RSS of a 1-rank training run with a small reader bound (block_rows 4096 = the chunk
#      size, 2-block windows) on the ROWS-row file and on a file of ROWS/100 rows, next to the bound
#      the start-up log reports.
# Usage: bench/reader_throughput.sh [RUNS] [ROWS]   (from the repository top, after a build;
# ECTRAIN_BUILD_DIR picks the build folder, default build)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${1:-3}
ROWS=${2:-10000000}
BUILD=${ECTRAIN_BUILD_DIR:-build}
cmake --build "$BUILD" -j2 --target reader_throughput ectrain >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench_tmp ectrain_reader
BENCH=$TMP/reader_throughput
cp "$BUILD/bench/reader_throughput" "$BENCH"
private_ectrain

"$BENCH" generate "$TMP/train.h5" "$ROWS" 4096 >/dev/null
"$BENCH" generate "$TMP/small.h5" $((ROWS / 100)) 4096 >/dev/null
"$BENCH" generate "$TMP/test.h5" 20000 4096 >/dev/null
echo "data: $ROWS rows, $(du -m "$TMP/train.h5" | cut -f1) MB on disk ($((ROWS * 68 / 1000000)) MB as float32/int32)"

rate() { sed -E 's/.*rows_per_second ([0-9.]+).*/\1/'; }
cat >"$TMP/reader.yaml" <<YAML
data:
  train: $TMP/train.h5
  test: $TMP/test.h5
  label: label
  dense: [d0, d1, d2, d3, d4, d5, d6, d7]
  categorical: [c0, c1, c2, c3, c4, c5, c6, c7]
  vocab_sizes: {c0: 1000, c1: 1000, c2: 1000, c3: 1000, c4: 1000, c5: 1000, c6: 1000, c7: 1000}
train:
  epochs: 1
  global_batch_size: 1024
eval:
  every_epochs: 0
YAML
train_cmd() {  # train_cmd RANKS: sets CMD, a training run of the config above (add --set ...)
  CMD=(mpirun -np "$1" --bind-to none "$ECTRAIN" train "$TMP/reader.yaml")
}

for round in $(seq "$RUNS"); do
  # (a)
  measured "$BENCH" plain "$TMP/train.h5" >"$TMP/plain.out"
  echo "$round $(rate <"$TMP/plain.out") $FOREIGN" >>"$TMP/plain.txt"
  measured "$BENCH" stream "$TMP/train.h5" 1 0 4096 64 1024 >"$TMP/stream1.out"
  echo "$round $(rate <"$TMP/stream1.out") $FOREIGN" >>"$TMP/stream1.txt"
  run_pair() {
    "$BENCH" stream "$TMP/train.h5" 2 1 4096 64 1024 >"$TMP/stream2b.out" &
    "$BENCH" stream "$TMP/train.h5" 2 0 4096 64 1024 >"$TMP/stream2a.out"
    wait
  }
  measured run_pair
  echo "$round $(( ($(rate <"$TMP/stream2a.out" | cut -d. -f1) + $(rate <"$TMP/stream2b.out" | cut -d. -f1)) / 2 )) $FOREIGN" \
    >>"$TMP/stream2.txt"
  # (b)
  for ranks in 1 2; do
    train_cmd "$ranks"
    train_measured "$TMP/wait_r${ranks}_$round" "${CMD[@]}"
    wait_s=$(event_field "$RUN_DIR/metrics.jsonl" epoch data_wait_seconds)
    train_s=$(field "$RUN_DIR/metrics.jsonl" train_seconds)
    echo "$round $(awk -v w="$wait_s" -v t="$train_s" 'BEGIN { printf "%.3f", 100 * w / t }') $wait_s $train_s \
$(field "$RUN_DIR/metrics.jsonl" samples_per_second) $FOREIGN" >>"$TMP/wait_r$ranks.txt"
  done
  # (c)
  for data in train small; do
    dir=$TMP/rss_${data}_$round
    # Without mpirun, so that /usr/bin/time sees the training process itself.
    measured /usr/bin/time -f "%M" -o "$dir.rss" "$ECTRAIN" train "$TMP/reader.yaml" --set "data.train=$TMP/$data.h5" \
      --set data.block_rows=4096 --set data.shuffle_window_blocks=2 --set "train.output_dir=$dir" >"$dir.log" 2>&1 ||
      { tail "$dir.log"; exit 1; }
    bound=$(grep -o 'reader buffers per rank <= [0-9.]* MB ([0-9]* bytes' "$dir.log" | sed -E 's/.*\(([0-9]+) bytes/\1/')
    echo "$round $(tail -1 "$dir.rss") $bound $FOREIGN" >>"$TMP/rss_$data.txt"
  done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); runs: $RUNS (medians)"
echo
echo "(a) read throughput, rows/s per rank (file of $ROWS rows, blocks = chunks = 4096 rows, 64-block windows)"
printf '| reader | rows/s per rank | / plain H5Dread |\n| --- | --- | --- |\n'
printf '| plain H5Dread loop, sequential | %.0f | 1 |\n' "$(col plain 2)"
printf '| training reader, 1 rank | %.0f | %.2f |\n' "$(col stream1 2)" "$(ratio stream1 plain)"
printf '| training reader, 2 ranks (2 processes at once) | %.0f | %.2f |\n' "$(col stream2 2)" "$(ratio stream2 plain)"
echo
echo "(b) data wait during training (ectrain train, global batch 1024, one epoch of $ROWS rows)"
printf '| ranks | waited for data (share of step time) | waited (s) | step loop (s) | samples/s |\n| --- | --- | --- | --- | --- |\n'
for ranks in 1 2; do
  printf '| %s | %s%% | %s | %s | %.0f |\n' "$ranks" "$(col "wait_r$ranks" 2)" "$(col "wait_r$ranks" 3)" \
    "$(col "wait_r$ranks" 4)" "$(col "wait_r$ranks" 5)"
done
echo
echo "(c) peak RSS of a 1-rank training run (block_rows 4096, 2-block windows, 4 batches of 1024 ahead)"
printf '| training rows | peak RSS (MB) | reader bound (MB) |\n| --- | --- | --- |\n'
printf '| %s | %.1f | %.2f |\n' "$ROWS" "$(awk -v k="$(col rss_train 2)" 'BEGIN { print k / 1024 }')" \
  "$(awk -v b="$(col rss_train 3)" 'BEGIN { print b / 1e6 }')"
printf '| %s | %.1f | %.2f |\n' "$((ROWS / 100))" "$(awk -v k="$(col rss_small 2)" 'BEGIN { print k / 1024 }')" \
  "$(awk -v b="$(col rss_small 3)" 'BEGIN { print b / 1e6 }')"
foreign_summary 3 "$TMP/plain.txt" "$TMP/stream1.txt" "$TMP/stream2.txt"
