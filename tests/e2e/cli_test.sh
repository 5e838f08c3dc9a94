#!/usr/bin/env bash
# End-to-end tests of the ectrain program: the quickstart on the bundled real data under
# mpirun, eval and predict from its checkpoint, and bad input of every kind.
# Usage: tests/e2e/cli_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: cli_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
MPIRUN=(timeout 300 mpirun --bind-to none -np)

DATA="$TMP/data"
SETS=(--set "data.train=$DATA/train.h5" --set "data.test=$DATA/test.h5")

# --- the quickstart on the bundled data ---
expect_exit "prepare the bundled data set" 0 "12330 rows read, 125 exact duplicates dropped" -- \
  "$ECTRAIN" prepare configs/quickstart.yaml "${SETS[@]}"

expect_exit "prepare with column roles given as flags, no config" 0 "train: $TMP/flags/train.h5 \(10874 rows" -- \
  "$ECTRAIN" prepare --source datasets/online-shoppers-intention/online_shoppers_intention.csv --label Revenue \
  --dense "PageValues,BounceRates in %" --categorical Month,VisitorType --train-out "$TMP/flags/train.h5" \
  --test-out "$TMP/flags/test.h5" --test-fraction 0.1 --seed 3
expect_exit "prepare titles as tokens and a class label from flags" 0 "label 'Category Label' \(class, 10 classes\), 0 dense, 1 categorical, 1 multi-valued \(Product Title\)" -- \
  "$ECTRAIN" prepare --source datasets/pricerunner-product-classification/pricerunner_aggregate.csv \
  --label "Category Label" --categorical "Merchant ID" --text "Product Title" --set prepare.label_type=class \
  --train-out "$TMP/pr/train.h5" --test-out "$TMP/pr/test.h5"
# The formats of data that may not be bundled, on fixtures in the same layouts (tests/fixtures/).
expect_exit "prepare MovieLens 100K's layout with genres from flags" 0 "label 'rating' \(binary\), 0 dense, 2 categorical, 1 multi-valued \(genres\)" -- \
  "$ECTRAIN" prepare --format movielens --source tests/fixtures/movielens-100k --label rating --categorical user_id,item_id \
  --multi-valued "genres:|" --set prepare.label_threshold=4 --train-out "$TMP/ml/train.h5" --test-out "$TMP/ml/test.h5"
expect_exit "prepare MovieLens 1M's layout from the config for it" 0 "35 rows read" -- \
  "$ECTRAIN" prepare configs/movielens1m_ratings.yaml --set prepare.source=tests/fixtures/movielens-1m \
  --set "data.train=$TMP/ml1m/train.h5" --set "data.test=$TMP/ml1m/test.h5"
TAOBAO=tests/fixtures/taobao/UserBehavior.csv
TAOBAO_LINES=$(($(wc -l <"$TAOBAO") + 1))  # the cut last line has no line end
expect_exit "a cut last line names its line" 1 "UserBehavior.csv:$TAOBAO_LINES column 'timestamp': expected 5 fields, found 4" -- \
  "$ECTRAIN" prepare --format taobao --source "$TAOBAO" --train-out "$TMP/tb/train.h5" --test-out "$TMP/tb/test.h5"
expect_exit "bad_rows: skip counts the cut line" 0 "$TAOBAO_LINES rows read, [0-9]+ exact duplicates dropped, 1 bad rows skipped" -- \
  "$ECTRAIN" prepare --format taobao --source "$TAOBAO" --set prepare.bad_rows=skip \
  --train-out "$TMP/tb/train.h5" --test-out "$TMP/tb/test.h5"

# libSVM in iPinYou's layout (make-ipinyou-data's train.yzx.txt: click, winning price, index:1 ...,
# with featindex.txt naming each index's field and value), generated: clicks follow the weekday
# (field 1) and one user tag (field 26, several a line), so there is something to learn.
LIBSVM="$TMP/libsvm"
mkdir -p "$LIBSVM"
yzx_lines() {
  awk -v n="$1" -v seed="$2" 'function r() { x = (x * 69069 + 1) % 4294967296; return x / 4294967296 }
    BEGIN { x = seed; for (i = 0; i < n; i++) { w = int(r() * 7); h = int(r() * 24); ip = int(r() * 20)
      line = " 0:1 " (1 + w) ":1 " (8 + h) ":1 " (32 + ip) ":1"; hot = 0; used = ""; tags = 1 + int(r() * 3)
      for (k = 0; k < tags; k++) { t = int(r() * 10); if (index(used, "," t ",")) continue; used = used "," t ","
        line = line " " (52 + t) ":1"; if (t == 3) hot = 1 }
      p = 0.05 + (w < 2 ? 0.3 : 0) + (hot ? 0.4 : 0); print (r() < p ? 1 : 0) " " int(r() * 300) line } }'
}
yzx_lines 3000 7 >"$LIBSVM/train.yzx.txt"
yzx_lines 1000 8 >"$LIBSVM/test.yzx.txt"
awk 'BEGIN { print "truncate\t0"; for (w = 0; w < 7; w++) print "1:" w "\t" 1 + w
  for (h = 0; h < 24; h++) print "2:" h "\t" 8 + h; for (i = 0; i < 20; i++) print "8:10." i ".1.*\t" 32 + i
  for (t = 0; t < 10; t++) print "26:1000" t "\t" 52 + t }' >"$LIBSVM/featindex.txt"
cat >"$LIBSVM/ipinyou.yaml" <<EOF
data: {train: $LIBSVM/out/train.h5, test: $LIBSVM/out/test.h5}
prepare: {format: libsvm, source: $LIBSVM/train.yzx.txt, test_source: $LIBSVM/test.yzx.txt,
          feature_index: $LIBSVM/featindex.txt, leading_columns: [click, payprice]}
model: {type: deepfm, embedding_dim: 8, hidden_units: [32]}
train: {epochs: 3, global_batch_size: 128, output_dir: $LIBSVM/run}
EOF
expect_exit "prepare libsvm with an index file, roles from the data" 0 "label 'click' \(binary\), 0 dense, 4 categorical, 1 multi-valued \(26\)" -- \
  "$ECTRAIN" prepare "$LIBSVM/ipinyou.yaml"
grep -q "libsvm roles from the data .*: label 'click', dense \[\], categorical \[truncate, 1, 2, 8\], multi_valued \[26\]" "$LAST_LOG" &&
  pass "prepare says which roles it chose for the libsvm fields" || fail "prepare says which roles it chose for the libsvm fields" "$LAST_LOG"
expect_exit "train on the prepared libsvm data" 0 "final test auc" -- \
  "$ECTRAIN" train "$LIBSVM/ipinyou.yaml" --set data.label=click --set 'data.categorical=[truncate, "1", "2", "8"]' \
  --set 'data.multi_valued=["26"]'
libsvm_auc=$(grep '"event":"done"' "$LIBSVM/run/metrics.jsonl" | sed -E 's/.*"auc":([0-9.]+).*/\1/')
awk -v a="${libsvm_auc:-0}" 'BEGIN { exit !(a >= 0.7) }' && pass "libsvm test AUC $libsvm_auc >= 0.7" ||
  fail "libsvm test AUC '$libsvm_auc' >= 0.7" "$LAST_LOG"
printf '1 0:1 1:1\n0 0:1 5\n' >"$LIBSVM/bad.txt"
expect_exit "a libsvm token without ':' names file, line and token" 1 "bad.txt:2: token '5': not index:value" -- \
  "$ECTRAIN" prepare "$LIBSVM/ipinyou.yaml" --set "prepare.source=$LIBSVM/bad.txt" --set prepare.leading_columns=[] \
  --set 'prepare.test_source=""'
printf '1 0:3:1 1:7:0.5\n0 0:4:1 1:7:2\n1 0:3:1 1:7:1.5\n0 0:5:1\n' >"$LIBSVM/x.ffm"
expect_exit "prepare libffm with fields named by flags" 0 "label 'label' \(binary\), 1 dense, 1 categorical, 0 multi-valued" -- \
  "$ECTRAIN" prepare --format libffm --source "$LIBSVM/x.ffm" --columns shop,price --label label --dense price \
  --categorical shop --test-fraction 0.5 --train-out "$LIBSVM/ffm/train.h5" --test-out "$LIBSVM/ffm/test.h5"

RUN="$TMP/run"
if "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$RUN" \
    >"$TMP/train.log" 2>&1; then
  pass "train the quickstart with mpirun -np 2"
else
  fail "train the quickstart with mpirun -np 2" "$TMP/train.log"
fi
final_auc=$(grep '"event":"done"' "$RUN/metrics.jsonl" | sed -E 's/.*"auc":([0-9.]+).*/\1/')
if awk -v a="${final_auc:-0}" 'BEGIN { exit !(a >= 0.90) }'; then
  pass "quickstart test AUC $final_auc >= 0.90"
else
  fail "quickstart test AUC '${final_auc}' >= 0.90" "$TMP/train.log"
fi
grep -q '"world_size":2' "$RUN/metrics.jsonl" && pass "metrics log records 2 ranks" || fail "metrics log records 2 ranks"
# Ranks on one host meet in shared memory; with comm.host_shared_memory: false the same job sends
# MPI messages and trains to the same model, bit for bit (the same float sums in the same order).
"${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$TMP/run_messages" \
  --set comm.host_shared_memory=false >"$TMP/train_messages.log" 2>&1
test_metrics() { grep '"event":"done"' "$1/metrics.jsonl" | grep -o '"test":{[^}]*}'; }
if grep -q "ranks 2 (mpi, shared memory, one shared model)" "$TMP/train.log" &&
    grep -q "ranks 2 (mpi, one shared model)" "$TMP/train_messages.log" &&
    [ -n "$(test_metrics "$RUN")" ] && [ "$(test_metrics "$RUN")" = "$(test_metrics "$TMP/run_messages")" ]; then
  pass "2 ranks on one host use shared memory; with MPI messages instead the test metrics are identical"
else
  fail "2 ranks on one host use shared memory; with MPI messages instead the test metrics are identical: $(test_metrics "$RUN") vs $(test_metrics "$TMP/run_messages")" "$TMP/train_messages.log"
fi
# The ranks of one host share one copy of the model, each updating its part; with
# comm.host_shared_model: false each keeps its own, and the checkpoints' tensors are the same bits.
"${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$TMP/run_copies" \
  --set comm.host_shared_model=false >"$TMP/train_copies.log" 2>&1
last_checkpoint() { find "$1/checkpoints" -name 'ckpt-*.h5' | sort | tail -1; }
if grep -q "ranks 2 (mpi, shared memory) " "$TMP/train_copies.log" && [ -n "$(last_checkpoint "$TMP/run_copies")" ] &&
    grep -q "optimizer state [0-9.]* MB (parameters and optimizer state one copy for the host's ranks)" "$TMP/train.log" &&
    h5diff "$(last_checkpoint "$RUN")" "$(last_checkpoint "$TMP/run_copies")" /params >"$TMP/h5diff.log" 2>&1 &&
    h5diff "$(last_checkpoint "$RUN")" "$(last_checkpoint "$TMP/run_copies")" /optimizer_state >>"$TMP/h5diff.log" 2>&1; then
  pass "one shared model (the memory line says so) and a copy per rank write the same parameters and optimizer state"
else
  fail "one shared model (the memory line says so) and a copy per rank write the same parameters and optimizer state" "$TMP/h5diff.log"
fi
# Ranks started with different comm.host_shared_memory or comm.host_shared_model (an MPMD launch)
# agree before making the segment or sharing the model: the start-up check names the difference
# instead of a hang.
QS=(train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$TMP/run_mixed" --set train.epochs=1)
for key in host_shared_memory host_shared_model; do
  timeout 60 mpirun --bind-to none -np 1 "$ECTRAIN" "${QS[@]}" : -np 1 "$ECTRAIN" "${QS[@]}" \
    --set "comm.$key=false" >"$TMP/train_mixed_$key.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
      grep -q "rank 1 differs from rank 0 in its configuration: here '  $key: false'" "$TMP/train_mixed_$key.log"; then
    pass "ranks with different comm.$key: the configuration check names it (status $rc)"
  else
    fail "ranks with different comm.$key: the configuration check names it (status $rc)" "$TMP/train_mixed_$key.log"
  fi
done
# bench/comm_ceiling.sh's timing-only mode: ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1 takes the gradient
# collectives out, with a warning that the results are wrong; ranks that each hold a model then
# differ after their first step, which train.verify_every_steps names.
expect_exit "ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1: no gradient exchange, so the ranks' parameters differ at step 1" 1 \
  "parameters differ between ranks at step 1: " -- \
  env ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1 "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" \
  --set "train.output_dir=$TMP/run_no_exchange" --set comm.host_shared_model=false --set train.verify_every_steps=1
grep -q "WARNING: ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE is set: the ranks exchange NO gradients .* WRONG" "$LAST_LOG" &&
  grep -q "ranks 2 (mpi, shared memory, no gradient exchange: timing only)" "$LAST_LOG" &&
  pass "ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1: a warning that results are wrong, and the start line says so" ||
  fail "ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE=1: a warning that results are wrong, and the start line says so" "$LAST_LOG"
# Where the shared window's backing directory lacks room (a small /dev/shm in a container), the job
# says so and trains over MPI messages instead of dying on its first touch of the segment; with
# room for the segment but not for the model, each rank keeps its own copy of the model.
SMALL_SHM="$TMP/small_shm"
mkdir -p "$SMALL_SHM"
# small_shm_run SIZE NAME WARNING START_LINE WHAT: 2 ranks over a tmpfs of SIZE as Open MPI's backing
# directory end well, with WARNING and START_LINE in their log.
small_shm_run() {
  local size=$1 name=$2 warning=$3 start_line=$4 what=$5 rc
  mount -t tmpfs -o size="$size" tmpfs "$SMALL_SHM"
  OMPI_MCA_osc_sm_backing_directory=$SMALL_SHM "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" \
    --set "train.output_dir=$TMP/run_$name" --set train.epochs=1 >"$TMP/train_$name.log" 2>&1
  rc=$?
  umount "$SMALL_SHM"
  if [ $rc -eq 0 ] && grep -q "$warning" "$TMP/train_$name.log" && grep -q "$start_line" "$TMP/train_$name.log"; then
    pass "$what"
  else
    fail "$what (status $rc)" "$TMP/train_$name.log"
  fi
}
if mount -t tmpfs -o size=2m tmpfs "$SMALL_SHM" 2>"$TMP/mount.log" && umount "$SMALL_SHM"; then
  small_shm_run 2m small_shm \
    "WARNING: collectives go through MPI messages: the 2 ranks of this host would share a .* segment in $SMALL_SHM, which has 2.1 MB free" \
    "ranks 2 (mpi) " "a backing directory too small for the host segment: a warning, and training over MPI messages"
  # 14 MB: the segment (6.3 MB, twice that free) fits; the model with its margin (16.9 MB) does not.
  small_shm_run 14m mid_shm \
    "WARNING: each rank keeps its own copy of the parameters and optimizer state: sharing 0.1 MB among the 2 ranks of this host needs .* free in $SMALL_SHM" \
    "ranks 2 (mpi, shared memory) " "a backing directory with room for the segment but not the model: a warning, and a copy per rank"
else
  echo "SKIPPED: a backing directory too small for the host segment or the shared model: cannot mount a tmpfs here ($(head -1 "$TMP/mount.log"))"
fi
[ -f "$RUN/config.yaml" ] && "$ECTRAIN" config "$RUN/config.yaml" >/dev/null 2>&1 &&
  pass "the saved resolved config reads back" || fail "the saved resolved config reads back"
grep -q "rank 1\]" "$TMP/train.log" && fail "only rank 0 logs by default" "$TMP/train.log" || pass "only rank 0 logs by default"
grep -q "the training data would take 0\.[0-9] MB per rank in memory; with data.in_memory: true it is read once" "$TMP/train.log" &&
  pass "streaming data that fits in memory: the log says data.in_memory would read it once" ||
  fail "streaming data that fits in memory: the log says data.in_memory would read it once" "$TMP/train.log"

CKPT="$RUN/checkpoints"
# eval prints 4 decimals, rounded (0.91738 -> 0.9174)
expect_exit "eval from the checkpoint folder gives the training's AUC" 0 "auc $(LC_ALL=C printf '%.4f' "${final_auc:-0}")" -- \
  "$ECTRAIN" eval --checkpoint "$CKPT"

"$ECTRAIN" predict --checkpoint "$CKPT" --input "$DATA/test.h5" --output "$TMP/pred.csv" 2>"$TMP/pred.log"
if cmp -s "$TMP/pred.csv" "$RUN/test_predictions.csv"; then
  pass "predict reproduces the evaluation's probabilities exactly"
else
  fail "predict reproduces the evaluation's probabilities exactly" "$TMP/pred.log"
fi

expect_exit "predict one raw row" 0 "^probability 0\.[0-9]{4}: (Revenue|not) likely$" -- \
  "$ECTRAIN" predict --checkpoint "$CKPT" --row "Administrative=2,Administrative_Duration=50,Informational=0,Informational_Duration=0,ProductRelated=30,ProductRelated_Duration=1200,BounceRates in %=0.01,ExitRates in %=0.02,PageValues=40,SpecialDay (probability)=0,Month=Nov,OperatingSystems=2,Browser=2,Region=1,TrafficType=2,VisitorType=Returning_Visitor,Weekend=FALSE"
expect_exit "a high PageValues session reads as likely to buy" 0 "Revenue likely" -- \
  "$ECTRAIN" predict --checkpoint "$CKPT" --row "Administrative=2,Administrative_Duration=50,Informational=0,Informational_Duration=0,ProductRelated=30,ProductRelated_Duration=1200,BounceRates in %=0.0,ExitRates in %=0.01,PageValues=150,SpecialDay (probability)=0,Month=Nov,OperatingSystems=2,Browser=2,Region=1,TrafficType=2,VisitorType=Returning_Visitor,Weekend=FALSE"
expect_exit "predict a row with a column missing names it" 2 "no column 'Administrative'" -- \
  "$ECTRAIN" predict --checkpoint "$CKPT" --row "Month=Nov"

"$ECTRAIN" predict --checkpoint "$CKPT" --input datasets/online-shoppers-intention/online_shoppers_intention.csv \
  --output "$TMP/raw.csv" 2>"$TMP/raw.log"
[ "$(wc -l <"$TMP/raw.csv")" -eq 12331 ] && pass "predict a raw CSV: one probability per row" ||
  fail "predict a raw CSV: one probability per row" "$TMP/raw.log"

expect_exit "single process, no launcher" 0 "done: 1 epochs" -- \
  "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set "train.output_dir=$TMP/single" --set train.epochs=1

# --- signals: a stop request checkpoints and exits 3 (the second-SIGINT rule: tests/unit/train) ---
LONG=(train configs/quickstart.yaml "${SETS[@]}" --set train.epochs=2000 --set eval.every_epochs=0)
# wait_for_step FILE: until the run has logged its first step (the handlers are installed by then).
wait_for_step() { for _ in $(seq 200); do grep -q "first step done" "$1" 2>/dev/null && return; sleep 0.05; done; }
"$ECTRAIN" "${LONG[@]}" --set "train.output_dir=$TMP/sigterm" >"$TMP/sigterm.log" 2>&1 &
pid=$!
wait_for_step "$TMP/sigterm.log"
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 3 ] && grep -q "stopped by SIGTERM at step" "$TMP/sigterm.log" && [ -f "$TMP/sigterm/checkpoints/latest" ]; then
  pass "SIGTERM: checkpoint, then exit status 3"
else
  fail "SIGTERM: checkpoint, then exit status 3 (got $rc)" "$TMP/sigterm.log"
fi
expect_exit "after SIGTERM the same command resumes" 0 "resuming from .*ckpt-" -- \
  "$ECTRAIN" "${LONG[@]}" --set "train.output_dir=$TMP/sigterm" --set train.max_steps=20000

# --- bad input: a clear message and exit status 2 (usage, config) or 1 (run time), never a hang ---
expect_exit "no subcommand" 2 "subcommand" -- "$ECTRAIN"
expect_exit "missing config file" 2 "config file 'nope.yaml' cannot be read" -- "$ECTRAIN" train nope.yaml
printf 'train:\n  epochs: [1, 2\n' >"$TMP/malformed.yaml"
expect_exit "malformed YAML" 2 "malformed.yaml: not valid YAML \(line" -- "$ECTRAIN" train "$TMP/malformed.yaml"
expect_exit "unknown key" 2 "unknown key 'train.epoch'" -- "$ECTRAIN" train configs/quickstart.yaml --set train.epoch=3
expect_exit "wrong type" 2 "train.epochs: expected an integer, got 'many'" -- \
  "$ECTRAIN" train configs/quickstart.yaml --set train.epochs=many
expect_exit "missing data file" 1 "missing.h5" -- \
  "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml --set data.train=/nonexistent/missing.h5
expect_exit "missing column lists the columns there are" 1 "no column 'clicked'.*Revenue" -- \
  "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set data.label=clicked \
  --set "train.output_dir=$TMP/bad"
expect_exit "label out of [0, 1] names the column and row" 1 "PageValues.*row" -- \
  "${MPIRUN[@]}" 2 "$ECTRAIN" train configs/quickstart.yaml "${SETS[@]}" --set data.label=PageValues \
  --set 'data.dense=[Administrative]' --set "train.output_dir=$TMP/bad"

head -3 datasets/online-shoppers-intention/online_shoppers_intention.csv >"$TMP/bad.csv"
printf '0,0,0,0,1,zero,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE\r\n' >>"$TMP/bad.csv"
expect_exit "non-numeric dense value names file, line and column" 1 "bad.csv:4 column 'ProductRelated_Duration': 'zero' is not a number" -- \
  "$ECTRAIN" prepare configs/quickstart.yaml --set "prepare.source=$TMP/bad.csv" \
  --set "data.train=$TMP/bad/train.h5" --set "data.test=$TMP/bad/test.h5"
head -3 datasets/online-shoppers-intention/online_shoppers_intention.csv >"$TMP/nan.csv"
printf '0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,nan\r\n' >>"$TMP/nan.csv"
expect_exit "NaN label names file, line and column" 1 "nan.csv:4 column 'Revenue': 'nan' is not a label" -- \
  "$ECTRAIN" prepare configs/quickstart.yaml --set "prepare.source=$TMP/nan.csv" \
  --set "data.train=$TMP/bad/train.h5" --set "data.test=$TMP/bad/test.h5"
[ ! -e "$TMP/bad/train.h5" ] && pass "a failed prepare writes no output" || fail "a failed prepare writes no output"

expect_exit "a checkpoint of another model is refused" 2 "is of another model" -- \
  "$ECTRAIN" eval --checkpoint "$CKPT" --set 'model.hidden_units=[8]'
cp "$(cat "$CKPT/latest" | sed "s|^|$CKPT/|")" "$TMP/truncated.h5"
truncate -s 20000 "$TMP/truncated.h5"
expect_exit "a truncated checkpoint is refused" 1 "truncated.h5" -- "$ECTRAIN" eval --checkpoint "$TMP/truncated.h5"
head -c 5000 "$DATA/test.h5" >"$TMP/cut.h5"
expect_exit "a truncated data file is refused" 1 "cut.h5" -- "$ECTRAIN" eval --checkpoint "$CKPT" --data "$TMP/cut.h5"

# Ranks as threads of one process (--ranks 2, the debugging mode) multiply matrices at the same
# time: two runs must end alike to the last digit (Debian's serial OpenBLAS, unguarded, shares its
# work buffers between threads and gave another model every run).
"$ECTRAIN" generate --out "$TMP/threads/train.h5" --rows 100000 --test-rows 2000 --seed 3 >"$TMP/threads.log" 2>&1 ||
  fail "generate data for the --ranks runs" "$TMP/threads.log"
read -r -a GENERATED <<<"$(sed -n 's/.*train on it with: //p' "$TMP/threads.log")"
for run in 1 2; do
  timeout 300 "$ECTRAIN" train configs/quickstart.yaml "${GENERATED[@]}" --ranks 2 --set train.max_steps=600 \
    --set train.global_batch_size=512 --set "train.output_dir=$TMP/threads/run$run" >"$TMP/threads/run$run.log" 2>&1 ||
    fail "train with --ranks 2 (run $run)" "$TMP/threads/run$run.log"
done
test_loss() { grep '"event":"done"' "$1/metrics.jsonl" | grep -oE '"log_loss":[0-9.e+-]+'; }
first=$(test_loss "$TMP/threads/run1") second=$(test_loss "$TMP/threads/run2")
[ -n "$first" ] && [ "$first" = "$second" ] && pass "two --ranks 2 runs end alike ($first)" ||
  fail "two --ranks 2 runs end alike ('$first' vs '$second')" "$TMP/threads/run2.log"

finish e2e
