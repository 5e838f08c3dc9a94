#!/usr/bin/env bash
# The distributed engine on one host (Open MPI over shared memory), 2 ranks:
#  (a) exposed communication share = sync_exposed_seconds / train_seconds (time inside gradient
#      sync that backward did not hide), for the seed model (configs/quickstart.yaml, global batch
#      1024) and a larger MLP (generated data: 13 dense + 3 categorical columns, hidden layers
#      1024-512-256, per-rank batch 512), each with comm.bucket_mb=0 (one all-reduce after
#      backward), the default 4, and a bucket size smaller than the model's gradients (SPLIT: the
#      seed model's 28 KB and the MLP's 2.9 MB each fit in one 4 MB bucket, and a single bucket is
#      all-reduced after backward, as with 0; only with several buckets do some start during
#      backward, on a communication thread);
#  (b) weak scaling 1 -> 2 ranks: samples/s of 2 ranks at global batch 2B over 1 rank at B, for the
#      larger MLP at per-rank batch 512 (compute dominates) and at a small per-rank batch (64); and
#      the machine's ceiling for it: two independent 1-rank jobs at once (no communication at all).
# Every configuration runs once per round; the order alternates (reversed on even rounds) so that
# machine noise hits all alike. Prints medians; ratios are medians of the per-round ratios (the two
# runs of a ratio are from the same round). Throughput counts the step loop only.
# Usage: bench/engine_scaling.sh [ROUNDS]   (default 3; from anywhere, after launch/setup.sh)
# Sizes (environment): MLP_ROWS (131072 generated rows), MLP_BATCH (512 per rank), MLP_STEPS (120),
# SMALL_BATCH (64 per rank), SMALL_STEPS (400), QS_EPOCHS (150: about 1,500 steps of the seed model),
# QS_SPLIT_MB (0.01: 3 buckets of the seed model), MLP_SPLIT_MB (1: 3 buckets of the MLP).
# About 3 minutes with the defaults on an idle 2-core machine (plus any wait for it to be idle).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MLP_ROWS=${MLP_ROWS:-131072}
MLP_BATCH=${MLP_BATCH:-512}
MLP_STEPS=${MLP_STEPS:-120}
SMALL_BATCH=${SMALL_BATCH:-64}
SMALL_STEPS=${SMALL_STEPS:-400}
QS_EPOCHS=${QS_EPOCHS:-150}
QS_SPLIT_MB=${QS_SPLIT_MB:-0.01}
MLP_SPLIT_MB=${MLP_SPLIT_MB:-1}
BUILD=${ECTRAIN_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d /tmp/ectrain_engine.XXXXXX)
trap 'rm -rf "$TMP"; [ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null' EXIT

# Others may be editing src/: build if the program is missing, retrying while the tree does not build.
for try in 1 2 3 4 5; do
  [ -x "$BUILD/src/ectrain" ] && break
  cmake --build "$BUILD" -j2 >"$TMP/build.log" 2>&1 && break
  echo "build failed (try $try), retrying in 60 s: $(grep -m1 -i error "$TMP/build.log")" >&2
  sleep 60
done
# A private copy, so that a rebuild during the benchmark cannot change the program between rounds.
cp "$BUILD/src/ectrain" "$TMP/ectrain"
ECTRAIN=$TMP/ectrain

[ -f datasets/online-shoppers-intention/prepared/train.h5 ] || "$ECTRAIN" prepare configs/quickstart.yaml >/dev/null
# The larger MLP's data: 13 uniform dense columns, a label from a logistic model of them, and 3
# categorical columns of 7, 50 and 500 values (tables small enough to be all-reduced whole).
awk -v n="$MLP_ROWS" 'BEGIN { srand(11); printf "label"; for (j = 1; j <= 13; j++) printf ",d%d", j; print ",c1,c2,c3";
  for (i = 0; i < n; i++) { s = 0; for (j = 1; j <= 13; j++) { x[j] = rand() * 2 - 1; s += x[j] * (j % 3 - 1) }
    printf "%d", (rand() < 1 / (1 + exp(-s))); for (j = 1; j <= 13; j++) printf ",%.4f", x[j];
    printf ",a%d,b%d,c%d\n", int(rand() * 7), int(rand() * 50), int(rand() * 500) } }' >"$TMP/mlp.csv"
"$ECTRAIN" prepare --source "$TMP/mlp.csv" --label label --dense d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13 \
  --categorical c1,c2,c3 --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.01 >/dev/null

# QS and MLP are used by name (local -n in run).
# shellcheck disable=SC2034
QS=(configs/quickstart.yaml --set train.epochs="$QS_EPOCHS")
# shellcheck disable=SC2034
MLP=(configs/quickstart.yaml --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" --set data.label=label
  --set 'data.dense=[d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13]' --set 'data.categorical=[c1,c2,c3]'
  --set model.embedding_dim=16 --set 'model.hidden_units=[1024,512,256]' --set train.epochs=1000)
SB=$SMALL_BATCH
MB=$MLP_BATCH
# name ranks global_batch bucket_mb model steps (0: the model's epochs)
CONFIGS=(
  "qs_b0 2 1024 0 QS 0"
  "qs_b4 2 1024 4 QS 0"
  "qs_bs 2 1024 $QS_SPLIT_MB QS 0"
  "mlp_r1_big 1 $MB 4 MLP $MLP_STEPS"
  "mlp_pair_big 1 $MB 4 MLP $MLP_STEPS"
  "mlp_r2_big_b0 2 $((2 * MB)) 0 MLP $MLP_STEPS"
  "mlp_r2_big_b4 2 $((2 * MB)) 4 MLP $MLP_STEPS"
  "mlp_r2_big_bs 2 $((2 * MB)) $MLP_SPLIT_MB MLP $MLP_STEPS"
  "mlp_r1_small 1 $SB 4 MLP $SMALL_STEPS"
  "mlp_pair_small 1 $SB 4 MLP $SMALL_STEPS"
  "mlp_r2_small_b0 2 $((2 * SB)) 0 MLP $SMALL_STEPS"
  "mlp_r2_small_b4 2 $((2 * SB)) 4 MLP $SMALL_STEPS"
  "mlp_r2_small_bs 2 $((2 * SB)) $MLP_SPLIT_MB MLP $SMALL_STEPS"
)

field() { grep '"event":"done"' "$1" | sed -E "s/.*\"$2\":([0-9.e+-]+).*/\1/"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Others share this machine (builds, tests). Before each run the script waits (up to QUIET_WAIT,
# 120 s) until the machine is idle (at most NOISE_LIMIT, 0.10, of all cores busy over half a
# second). Each run's "foreign load" is the CPU time that other processes used during it, as a
# share of all cores: /proc/stat's busy time less the run's own CPU time, which a cgroup counts
# (cpuacct, or cgroup v2 where that is what the machine has; ranks started through mpirun's rsh
# agent are not all waited for, so the shell's `times` would miss them and is only the fallback).
# A run with more than NOISE_LIMIT is repeated, up to TRIES (3) times, and the last try is kept
# either way (the per-run lines at the end show each kept run's load).
NOISE_LIMIT=${NOISE_LIMIT:-0.10}
TRIES=${TRIES:-3}
QUIET_WAIT=${QUIET_WAIT:-120}
WAITED=0
TICK=$(getconf CLK_TCK)
CG=""
if mkdir "/sys/fs/cgroup/cpuacct/ectrain_bench_$$" 2>/dev/null; then
  CG=/sys/fs/cgroup/cpuacct/ectrain_bench_$$
elif v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts) && [ -n "$v2" ] && mkdir "$v2/ectrain_bench_$$" 2>/dev/null; then
  CG=$v2/ectrain_bench_$$
fi
cg_seconds() {  # CPU seconds used so far by the processes started in $CG
  if [ -f "$CG/cpuacct.usage" ]; then awk '{ print $1 / 1e9 }' "$CG/cpuacct.usage"
  else awk '$1 == "usage_usec" { print $2 / 1e6 }' "$CG/cpu.stat"; fi
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# The shell's children's user+system seconds: from two lines of `times` (before, after) their difference.
times_seconds() { awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } v[NR] = n } END { print v[2] - v[1] }'; }
wait_quiet() {
  local start=$SECONDS b0
  while [ $((SECONDS - start)) -lt "$QUIET_WAIT" ]; do
    b0=$(busy_ticks); sleep 0.5
    awk -v b="$(($(busy_ticks) - b0))" -v k="$TICK" -v n="$(nproc)" -v l="$NOISE_LIMIT" 'BEGIN { exit !(b / k / 0.5 / n <= l) }' && break
  done
  WAITED=$((WAITED + SECONDS - start))
}
measured() {  # measured COMMAND...: waits for a quiet machine, runs COMMAND, sets FOREIGN
  local b0 c0 t0 b1 c1 t1 own rc=0
  wait_quiet
  if [ -n "$CG" ]; then c0=$(cg_seconds); else times >"$TMP/times"; c0=$(tail -1 "$TMP/times"); fi
  b0=$(busy_ticks); t0=$(date +%s.%N)
  if [ -n "$CG" ]; then (echo "$BASHPID" >"$CG/cgroup.procs" && "$@") || rc=$?; else "$@" || rc=$?; fi
  t1=$(date +%s.%N); b1=$(busy_ticks)
  if [ -n "$CG" ]; then own=$(awk -v a="$(cg_seconds)" -v b="$c0" 'BEGIN { print a - b }')
  else times >"$TMP/times"; c1=$(tail -1 "$TMP/times"); own=$(printf '%s\n%s\n' "$c0" "$c1" | times_seconds); fi
  FOREIGN=$(awk -v b="$((b1 - b0))" -v k="$TICK" -v c="$own" -v w="$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" \
    -v n="$(nproc)" 'BEGIN { f = (b / k - c) / (w * n); printf "%.3f", f < 0 ? 0 : f }')
  return $rc
}
REPEATS=0

# pair COMMAND... --set train.output_dir=DIR: COMMAND twice at once, the second into DIR.b. Two
# independent 1-rank jobs (no communication): the compute of 2 ranks sharing this machine's cores,
# caches and memory, the ceiling of a 2-rank job here.
pair() {
  local dir=${*: -1} rc=0 p
  "${@:1:$#-1}" "${dir}.b" >"${dir#train.output_dir=}.b.log" 2>&1 &
  p=$!
  "$@" || rc=$?
  wait "$p" || rc=$?
  return $rc
}

run() {  # run ROUND NAME RANKS BATCH BUCKET MODEL STEPS
  local round=$1 name=$2 ranks=$3 batch=$4 bucket=$5 model=$6 steps=$7 dir try launch=()
  local -n args=$model
  [[ $name = *pair* ]] && launch=(pair)
  for try in $(seq "$TRIES"); do
    dir="$TMP/${name}_${round}_$try"
    measured "${launch[@]}" mpirun -np "$ranks" --bind-to none "$ECTRAIN" train "${args[@]}" --set train.global_batch_size="$batch" \
      --set comm.bucket_mb="$bucket" --set train.max_steps="$steps" --set eval.every_epochs=0 \
      --set checkpoint.every_steps=0 --set "train.output_dir=$dir" >"$dir.log" 2>&1 || { tail -30 "$dir.log"; exit 1; }
    awk -v f="$FOREIGN" -v l="$NOISE_LIMIT" 'BEGIN { exit !(f <= l) }' && break
    [ "$try" -lt "$TRIES" ] && REPEATS=$((REPEATS + 1))
  done
  local m=$dir/metrics.jsonl
  # A pair: the sum of its two jobs' samples/s, the mean of the rest.
  if [[ $name = *pair* ]]; then
    awk '/"event":"done"/' "$dir/metrics.jsonl" "$dir.b/metrics.jsonl" >"$dir/both.jsonl"
    m=$dir/pair.jsonl
    echo "{\"event\":\"done\",$(for k in samples_per_second train_seconds sync_exposed_seconds sync_bytes_per_step steps; do
      printf '"%s":%s,' "$k" "$(sed -E "s/.*\"$k\":([0-9.e+-]+).*/\1/" "$dir/both.jsonl" |
        awk -v sum="$([ $k = samples_per_second ] && echo 1 || echo 0)" '{ s += $1 } END { print sum ? s : s / NR }')"; done)\"x\":0}" >"$m"
  fi
  # round samples/s train_s exposed_s bytes/step steps foreign_load
  echo "$round $(field "$m" samples_per_second) $(field "$m" train_seconds) $(field "$m" sync_exposed_seconds)" \
    "$(field "$m" sync_bytes_per_step) $(field "$m" steps) $FOREIGN" >>"$TMP/$name.txt"
  grep -m1 -oE "parameters [0-9]+" "$dir.log" | cut -d' ' -f2 >"$TMP/$name.params"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  order=$(seq 0 $((${#CONFIGS[@]} - 1)))
  [ $((round % 2)) -eq 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    # shellcheck disable=SC2086  # word splitting of the configuration line is intended
    run "$round" ${CONFIGS[$i]}
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

col() { cut -d' ' -f"$2" "$TMP/$1.txt" | median; }                     # median of a column
share() { awk '{ print $4 / $3 }' "$TMP/$1.txt" | median; }               # exposed / train, per run
ratio() { join <(cut -d' ' -f1,2 "$TMP/$1.txt" | sort) <(cut -d' ' -f1,2 "$TMP/$2.txt" | sort) |
  awk '{ print $3 / $2 }' | median; }                                      # per round: $2 over $1

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME");" \
  "Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$'), shared memory, --bind-to none; $(date -u +%F)"
echo "program: $(git describe --always --dirty 2>/dev/null || echo unknown); rounds: $ROUNDS (medians); load average before/after: $load_before / $load_after"
echo "foreign load (CPU used by other processes during a run, share of the machine): median $(cat "$TMP"/*.txt | cut -d' ' -f7 | median)," \
  "max of kept runs $(cat "$TMP"/*.txt | cut -d' ' -f7 | sort -g | tail -1); runs repeated for foreign load > $NOISE_LIMIT: $REPEATS; waited for a quiet machine: $WAITED s"
echo
echo "(a) exposed communication share, 2 ranks"
echo
echo "| model | parameters | gradient bytes/step/rank | global batch | comm.bucket_mb | samples/s | step loop (s) | sync exposed (s) | exposed share |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for row in "qs_b0|seed (quickstart)|1024|0" "qs_b4|seed (quickstart)|1024|4 (default)" "qs_bs|seed (quickstart)|1024|$QS_SPLIT_MB" \
  "mlp_r2_big_b0|MLP 1024-512-256|$((2 * MB))|0" "mlp_r2_big_b4|MLP 1024-512-256|$((2 * MB))|4 (default)" \
  "mlp_r2_big_bs|MLP 1024-512-256|$((2 * MB))|$MLP_SPLIT_MB"; do
  IFS='|' read -r name model batch bucket <<<"$row"
  printf '| %s | %s | %s | %s | %s | %.0f | %.3f | %.3f | %.1f%% |\n' "$model" "$(cat "$TMP/$name.params")" \
    "$(col "$name" 5)" "$batch" "$bucket" "$(col "$name" 2)" "$(col "$name" 3)" "$(col "$name" 4)" \
    "$(awk -v s="$(share "$name")" 'BEGIN { print s * 100 }')"
done
echo
echo "(b) weak scaling 1 -> 2 ranks, MLP 1024-512-256 (goal: 2 ranks / 1 rank >= 1.8)"
echo
echo "| per-rank batch | 1 rank samples/s | 2 ranks, bucket_mb 0 | ratio | 2 ranks, bucket_mb 4 (default) | ratio | 2 ranks, bucket_mb $MLP_SPLIT_MB | ratio | ceiling: two 1-rank jobs at once, sum | ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for size in big small; do
  batch=$([ $size = big ] && echo "$MB" || echo "$SB")
  printf '| %s | %.0f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f |\n' "$batch" "$(col mlp_r1_$size 2)" \
    "$(col mlp_r2_${size}_b0 2)" "$(ratio mlp_r1_$size mlp_r2_${size}_b0)" \
    "$(col mlp_r2_${size}_b4 2)" "$(ratio mlp_r1_$size mlp_r2_${size}_b4)" \
    "$(col mlp_r2_${size}_bs 2)" "$(ratio mlp_r1_$size mlp_r2_${size}_bs)" \
    "$(col mlp_pair_$size 2)" "$(ratio mlp_r1_$size mlp_pair_$size)"
done
echo
echo "per run (round: samples/s, step loop s, exposed s, foreign load):"
for c in "${CONFIGS[@]}"; do
  name=${c%% *}
  echo "  $name: $(awk '{ printf "%s: %.0f %.3f %.3f %.2f; ", $1, $2, $3, $4, $7 }' "$TMP/$name.txt")"
done
