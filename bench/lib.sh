# shellcheck shell=bash
# Shared by the benchmark scripts: `source "$(dirname "$0")/lib.sh"` (before they cd).
#
# Others share this machine (builds, tests), so a figure means little unless we know how busy the
# machine was. Each run therefore waits for a quiet machine and records the CPU that other processes
# used during it. Provides:
#   bench_tmp NAME            TMP, a fresh folder /tmp/NAME.XXXXXX, removed on exit (after the
#                             script's own on_exit function, if it defines one) with the cgroup below
#   private_ectrain           ECTRAIN, a private copy of the program (built first if missing)
#   cpu_cgroup                count each run's own CPU time in a cgroup (else with the shell's `times`)
#   measured COMMAND...       wait for a quiet machine, run COMMAND, set FOREIGN (its foreign load)
#   train_measured STEM CMD   a training run, repeated while the machine was busy (TRIES), sets RUN_DIR
#   in_rounds ROUNDS FUNCTION every configuration of CONFIGS once a round, alternating the order
#   pair, pair_done           two independent 1-rank jobs at once, and their one "done" line
#   mlp_data ROWS             the larger MLP's generated data ($TMP/train.h5, $TMP/test.h5)
#   ctr_data ROWS SEED, ctr_config FILE   vs_pytorch's click data (DATA, cached) and model
#   phases_to FILE ROUND METRICS          where a run's step loop went, per step
#   phases_header, phases_rows BATCH "NAME|LABEL"...   the table of it, medians over rounds
#   field, event_field, median, col, ratio, round_ratios, foreign_loads, foreign_summary: reading the results
# Environment: NOISE_LIMIT (0.10: the share of all cores busy above which the machine is not quiet,
# and a run is repeated), TRIES (3: runs at most of one configuration in one round), QUIET_WAIT
# (the longest wait for a quiet machine before a run: 120 s, unless the script sets another default
# before sourcing this).

NOISE_LIMIT=${NOISE_LIMIT:-0.10}
TRIES=${TRIES:-3}
QUIET_WAIT=${QUIET_WAIT:-120}
WAITED=0   # seconds spent waiting for a quiet machine
REPEATS=0  # runs repeated for foreign load
TICK=$(getconf CLK_TCK)
NCORES=$(nproc)  # now, before a script sets OMP_NUM_THREADS, which nproc honours
CG=""

bench_tmp() {  # bench_tmp NAME
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_exit EXIT
}
bench_exit() {
  # `|| true`: a clean-up step that fails (nothing left to remove) must not skip the others.
  if declare -F on_exit >/dev/null; then on_exit || true; fi
  [ -z "${TMP:-}" ] || rm -rf "$TMP"
  [ -z "$CG" ] || rmdir "$CG" 2>/dev/null
}

private_ectrain() {
  local build=${ECTRAIN_BUILD_DIR:-build} try
  # Others may be editing src/: build if the program is missing, retrying while the tree does not build.
  for try in 1 2 3 4 5; do
    [ -x "$build/src/ectrain" ] && break
    cmake --build "$build" -j2 >"$TMP/build.log" 2>&1 && break
    echo "build failed (try $try), retrying in 60 s: $(grep -m1 -i error "$TMP/build.log")" >&2
    sleep 60
  done
  # A private copy, so that a rebuild during the benchmark cannot change the program between rounds.
  cp "$build/src/ectrain" "$TMP/ectrain"
  ECTRAIN=$TMP/ectrain
}

# Before each run, wait (up to QUIET_WAIT) until the machine is idle: at most NOISE_LIMIT of all
# cores busy over half a second. A run's "foreign load" is the CPU time that other processes used
# during it, as a share of all cores: /proc/stat's busy time less the run's own CPU time. A cgroup
# counts the latter best (cpuacct, or cgroup v2 where that is what the machine has): ranks started
# through mpirun's rsh agent are not all waited for, so the shell's `times` would miss them; `times`
# is the fallback, and what scripts that do not call cpu_cgroup use.
cpu_cgroup() {
  local v2
  if mkdir "/sys/fs/cgroup/cpuacct/ectrain_bench_$$" 2>/dev/null; then
    CG=/sys/fs/cgroup/cpuacct/ectrain_bench_$$
  elif v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts) && [ -n "$v2" ] && mkdir "$v2/ectrain_bench_$$" 2>/dev/null; then
    CG=$v2/ectrain_bench_$$
  fi
  trap bench_exit EXIT  # removes it, with or without bench_tmp
}
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
    awk -v b="$(($(busy_ticks) - b0))" -v k="$TICK" -v n="$NCORES" -v l="$NOISE_LIMIT" 'BEGIN { exit !(b / k / 0.5 / n <= l) }' && break
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
    -v n="$NCORES" 'BEGIN { f = (b / k - c) / (w * n); printf "%.3f", f < 0 ? 0 : f }')
  return $rc
}

# train_measured STEM COMMAND...: runs COMMAND --set train.output_dir=STEM_1, measured, output to
# STEM_1.log; while its foreign load was above NOISE_LIMIT, again into STEM_2, ..., up to TRIES
# times. The last try is kept either way (the per-run lines of the scripts show each kept run's
# load): RUN_DIR is its folder. A failed run ends the benchmark with its log's tail.
train_measured() {
  local stem=$1 try
  shift
  for try in $(seq "$TRIES"); do
    RUN_DIR=${stem}_$try
    measured "$@" --set "train.output_dir=$RUN_DIR" >"$RUN_DIR.log" 2>&1 || { tail -30 "$RUN_DIR.log"; exit 1; }
    awk -v f="$FOREIGN" -v l="$NOISE_LIMIT" 'BEGIN { exit !(f <= l) }' && break
    [ "$try" -lt "$TRIES" ] && REPEATS=$((REPEATS + 1))
  done
  return 0
}

# in_rounds ROUNDS FUNCTION: FUNCTION ROUND CONFIG for each entry CONFIG of the array CONFIGS, every
# round; the order is reversed on even rounds, so that machine noise hits all configurations alike.
in_rounds() {
  local round i order
  for round in $(seq "$1"); do
    order=$(seq 0 $((${#CONFIGS[@]} - 1)))
    [ $((round % 2)) -eq 0 ] && order=$(echo "$order" | tac)
    for i in $order; do "$2" "$round" "${CONFIGS[$i]}"; done
  done
}

# pair COMMAND... --set train.output_dir=DIR: COMMAND twice at once, the second into DIR.b. Two
# independent 1-rank jobs (no communication): the compute of 2 ranks sharing this machine's cores,
# caches and memory, the ceiling of a 2-rank job here. PAIR_CORES="A B" pins the first to core A,
# the second to core B.
pair() {
  local dir=${*: -1} rc=0 p first=() second=() cores
  if [ -n "${PAIR_CORES:-}" ]; then
    read -r -a cores <<<"$PAIR_CORES"
    first=(taskset -c "${cores[0]}") second=(taskset -c "${cores[1]}")
  fi
  "${second[@]}" "${@:1:$#-1}" "${dir}.b" >"${dir#train.output_dir=}.b.log" 2>&1 &
  p=$!
  "${first[@]}" "$@" || rc=$?
  wait "$p" || rc=$?
  return $rc
}
# pair_done DIR OUT [SUMMED]: writes to OUT one "done" line for the two jobs of a pair (DIR, DIR.b):
# the mean of each figure, the sum for the key SUMMED.
pair_done() {
  local dir=$1 k
  awk '/"event":"done"/' "$dir/metrics.jsonl" "$dir.b/metrics.jsonl" >"$dir/both.jsonl"
  echo "{\"event\":\"done\",$(for k in samples_per_second train_seconds sync_exposed_seconds sync_bytes_per_step steps; do
    printf '"%s":%s,' "$k" "$(sed -E "s/.*\"$k\":([0-9.e+-]+).*/\1/" "$dir/both.jsonl" |
      awk -v sum="$([ "$k" = "${3:-}" ] && echo 1 || echo 0)" '{ s += $1 } END { print sum ? s : s / NR }')"; done)\"x\":0}" >"$2"
}

# mlp_data ROWS: the larger MLP's data in $TMP/train.h5 and $TMP/test.h5 (1% test rows): 13 uniform
# dense columns d1..d13, a label from a logistic model of them, and 3 categorical columns c1..c3 of
# 7, 50 and 500 values (tables small enough to be all-reduced whole).
mlp_data() {
  awk -v n="$1" 'BEGIN { srand(11); printf "label"; for (j = 1; j <= 13; j++) printf ",d%d", j; print ",c1,c2,c3";
    for (i = 0; i < n; i++) { s = 0; for (j = 1; j <= 13; j++) { x[j] = rand() * 2 - 1; s += x[j] * (j % 3 - 1) }
      printf "%d", (rand() < 1 / (1 + exp(-s))); for (j = 1; j <= 13; j++) printf ",%.4f", x[j];
      printf ",a%d,b%d,c%d\n", int(rand() * 7), int(rand() * 50), int(rand() * 500) } }' >"$TMP/mlp.csv"
  "$ECTRAIN" prepare --source "$TMP/mlp.csv" --label label --dense d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13 \
    --categorical c1,c2,c3 --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.01 >/dev/null
}

# ctr_data ROWS SEED: the click data of bench/vs_pytorch.sh, generated once and cached (DATA, a
# folder under /tmp holding T.h5, E.h5 and prepare.log): three categorical columns (user: 60k ids,
# item: 20k, category: 300, one per item; skewed popularity) and three dense columns; the click
# label is drawn from a logistic model of per-user, per-item and per-category effects and the dense
# values, so there is something to learn. Written as CSV with awk and converted by `ectrain
# prepare` (1% test rows). Needs ECTRAIN.
ctr_data() {
  local ROWS=$1 SEED=$2
  DATA=/tmp/ectrain_vs_pytorch/rows${ROWS}_seed$SEED
  if [ ! -f "$DATA/E.h5" ]; then
    echo "generating $ROWS rows and preparing them into $DATA" >&2
    mkdir -p "$DATA.tmp"
    awk -v n="$ROWS" -v seed="$SEED" 'function gauss() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand()) }
    BEGIN { srand(seed); NU = 60000; NI = 20000; NC = 300
      for (c = 0; c < NC; c++) cb[c] = 0.4 * gauss()
      for (u = 0; u < NU; u++) ub[u] = 0.6 * gauss()
      for (i = 0; i < NI; i++) { ib[i] = 0.6 * gauss(); ic[i] = int(NC * rand()) }
      print "user,item,category,d1,d2,d3,clicked"
      for (r = 0; r < n; r++) {
        u = int(NU * rand() ^ 2); i = int(NI * rand() ^ 2); c = ic[i]  # popular users and items: small ids
        d1 = gauss(); d2 = 10 * rand(); d3 = -log(1 - rand())
        z = -1.2 + ub[u] + ib[i] + cb[c] + 0.7 * d1 - 0.15 * (d2 - 5) + 0.3 * log(1 + d3)
        printf "u%d,i%d,c%d,%.4f,%.3f,%.4f,%d\n", u, i, c, d1, d2, d3, (rand() < 1 / (1 + exp(-z)))
      } }' >"$DATA.tmp/data.csv"
    "$ECTRAIN" prepare --source "$DATA.tmp/data.csv" --label clicked --dense d1,d2,d3 --categorical user,item,category \
      --train-out "$DATA.tmp/T.h5" --test-out "$DATA.tmp/E.h5" --test-fraction 0.01 >"$DATA.tmp/prepare.log"
    rm "$DATA.tmp/data.csv"
    rm -rf "$DATA" && mv "$DATA.tmp" "$DATA"
  fi
}

# ctr_config FILE: the model of bench/pytorch_reference.py on ctr_data's DATA, held in memory:
# embeddings of width 16 -> 64 -> 32 -> 1, Adam lr 1e-3, no evaluation or checkpoint until the end.
ctr_config() {
  cat >"$1" <<EOF
data:
  train: $DATA/T.h5
  test: $DATA/E.h5
  label: clicked
  dense: [d1, d2, d3]
  categorical: [user, item, category]
  in_memory: true
model:
  type: mlp
  embedding_dim: 16
  hidden_units: [64, 32]
optimizer:
  type: adam
  learning_rate: 0.001
  beta1: 0.9
  beta2: 0.999
  epsilon: 1.0e-8
train:
  epochs: 1000000
  seed: 42
  log_every_steps: 1000
eval:
  every_epochs: 0
checkpoint:
  every_steps: 0
  keep_last: 1
EOF
}

# Reading results. Runs write metrics.jsonl (one JSON object a line); scripts append one line of
# figures per run to $TMP/NAME.txt, the round first.
event_field() { grep "\"event\":\"$2\"" "$1" | tail -1 | sed -E "s/.*\"$3\":([0-9.e+-]+).*/\1/"; }  # FILE EVENT KEY
field() { event_field "$1" "done" "$2"; }  # field FILE KEY: KEY of the run's "done" line
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { cut -d' ' -f"$2" "$TMP/$1.txt" | median; }  # col NAME COLUMN: the median over rounds
# ratio NUM DEN [COLUMN]: NUM's figure over DEN's in each round (both runs from the same round, so
# hit by the same noise), then the median; COLUMN 2 (samples/s) unless given.
ratio() {
  join <(cut -d' ' -f1,"${3:-2}" "$TMP/$1.txt" | sort) <(cut -d' ' -f1,"${3:-2}" "$TMP/$2.txt" | sort) |
    awk '{ print $2 / $3 }' | median
}
# round_ratios A B C D: per round, "round: A/B C/D; " of the named runs' samples/s (the rounds that
# all four ran): ratios of runs that met the same noise.
round_ratios() {
  join <(cut -d' ' -f1,2 "$TMP/$1.txt" | sort) <(cut -d' ' -f1,2 "$TMP/$2.txt" | sort) |
    join - <(cut -d' ' -f1,2 "$TMP/$3.txt" | sort) | join - <(cut -d' ' -f1,2 "$TMP/$4.txt" | sort) |
    awk '{ printf "%s: %.2f %.2f; ", $1, $2 / $3, $4 / $5 }'
}
foreign_loads() { local c=$1; shift; cat "$@" | cut -d' ' -f"$c"; }  # foreign_loads COLUMN FILE...
foreign_summary() {  # foreign_summary COLUMN FILE...: the line on foreign load, repeats and waiting
  echo "foreign load (CPU used by other processes during a run, share of the machine): median $(foreign_loads "$@" | median)," \
    "max of kept runs $(foreign_loads "$@" | sort -g | tail -1); runs repeated for foreign load > $NOISE_LIMIT: $REPEATS; waited for a quiet machine: $WAITED s"
}

# Where a run's step loop went (rank 0, from the done line): appends "round" and microseconds per
# step of the step loop, forward+backward, whole-tensor sync, row-sparse exchange, step agreement,
# optimizer, waiting for data and the rest to FILE.
phases_to() {  # phases_to FILE ROUND METRICS
  local values k
  values=$(for k in train_seconds forward_backward_seconds sync_exposed_seconds sync_row_sparse_seconds \
    agreement_seconds optimizer_seconds data_wait_seconds steps; do field "$3" $k; done | tr '\n' ' ')
  echo "$2 $(echo "$values" | awk '{ u = 1e6 / $8; printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f", $1 * u, $2 * u, ($3 - $4) * u, $4 * u,
    $5 * u, $6 * u, $7 * u, ($1 - $2 - $3 - $5 - $6 - $7) * u }')" >>"$1"
}

# The table of where rank 0's step goes: phases_header, then phases_rows BATCH "NAME|LABEL"... for
# runs whose phases_to files are $TMP/NAME.phases (medians over rounds, microseconds per step).
phases_header() {
  echo "| per-rank batch | run | step | forward+backward | whole-tensor sync | row-sparse exchange | step agreement | optimizer | waiting for data | other |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
}
phases_rows() {
  local batch=$1 run c
  shift
  for run in "$@"; do
    printf '| %s | %s' "$batch" "${run#*|}"
    for c in 2 3 4 5 6 7 8 9; do printf ' | %.0f' "$(cut -d' ' -f$c "$TMP/${run%%|*}.phases" | median)"; done
    echo " |"
  done
}
