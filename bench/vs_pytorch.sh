#!/usr/bin/env bash
# ectrain beside PyTorch on the CPU (issue "Speed: an order of magnitude past PyTorch on the CPU"):
# the same model, optimizer, loss and prepared data, one process with one thread each.
#
# Data: ROWS generated rows (default 2,000,000; seed SEED): three categorical columns (user: 60k
# ids, item: 20k, category: 300, one per item; skewed popularity) and three dense columns; the click
# label is drawn from a logistic model of per-user, per-item and per-category effects and the dense
# values, so there is something to learn. Written as CSV with awk and converted once by
# `ectrain prepare` (1% test rows); both trainers read the same T.h5 / E.h5. Cached under
# /tmp/ectrain_vs_pytorch/rows<ROWS>_seed<SEED>/ between runs.
# Model (both): embeddings of width 16 per categorical column + the 3 dense columns -> 64 ReLU ->
# 32 ReLU -> 1, binary cross-entropy from logits (mean over the global batch), Adam lr 1e-3.
# ectrain updates tables with global_batch * (16 * 4 + 8) < rows * 16 * 4 lazily (row-sparse);
# bench/pytorch_reference.py matches it with nn.Embedding(sparse=True) + SparseAdam for exactly
# those tables and Adam for the rest ("PyTorch sparse"), and is also run with dense embeddings
# and plain Adam everywhere ("PyTorch dense", how most people write it).
#
# For global batch 32, 256 and 4096, each round runs (in an order reversed on even rounds):
#   ectrain, EC_STEPS steps: its throughput and peak RSS (longer than PyTorch's runs: it is faster);
#   ectrain, PT_STEPS steps: the test log-loss after exactly PyTorch's number of steps;
#   PyTorch sparse and PyTorch dense, PT_STEPS steps: throughput, test log-loss, peak RSS.
# Then (SCALING=1) 2 ranks: ectrain under mpirun -np 2 and PyTorch DDP (gloo, 2 processes x 1
# thread, sparse variant) at global batch 2B for per-rank batch B = 256 and 4096, against the
# 1-process runs of the same round; and the ceiling: two independent 1-process ectrain runs at
# once (batch B each, a core each), their summed samples/s over 1 process, what the machine gives
# two processes that never wait for each other; and ectrain's 2 ranks with MPI messages instead of
# its host segment (comm.host_shared_memory=false). For these, a table of where ectrain's step loop
# goes (rank 0's phases from metrics.jsonl's done line, microseconds per step).
# PIN=1 (the default) gives each process one core, as "1 thread each" means: 1-process runs on
# core 0 (taskset), 2 ranks on a core each (mpirun --bind-to core; DDP: --pin). ectrain's reader
# thread then shares its rank's core; unpinned (PIN=0), one ectrain rank reads on the idle core.
# Throughput counts the step loop only in both (forward, backward, gradient exchange, optimizer
# step), not start-up, data loading, the per-epoch shuffle or the evaluation. Both hold the decoded
# training set in memory: PyTorch as tensors, ectrain with data.in_memory. Each round also runs
# ectrain streaming the data from the file (data.in_memory=false: its reader thread decompresses
# blocks on the same core while it trains), EC_STEPS steps, 1 process: the "streaming" column. Ratios are medians of per-round ratios (both runs from one round).
# Writes the chart bench/vs_pytorch.png (PNG=path to change): samples/s against batch, log scales.
#
# Usage: bench/vs_pytorch.sh [RUNS] [ROWS]   (default 3 rounds, 2,000,000 rows; from anywhere)
# Environment: SEED (1), SCALING (1: also the 2-rank runs; 0: skip), PIN (1), EC_STEPS ("60000 12000 1000"),
# PT_STEPS ("2000 1200 300"), steps per run for batch 32, 256 and 4096; QUIET_WAIT (5 s), the
# longest wait before each run for an idle machine; PNG. About 10 minutes with the defaults on a 2-core machine.
# Installs, when missing: python3-torch python3-h5py python3-matplotlib time libopenblas0-pthread.
# Debian's torch 1.13 is linked against the generic libblas.so.3; the reference BLAS is 2-3x slower
# than OpenBLAS at batch 4096, so PyTorch runs with LD_LIBRARY_PATH pointing at OpenBLAS (1 thread).
set -euo pipefail
QUIET_WAIT=${QUIET_WAIT:-5}  # the library's default is 120 s; these runs are many and short
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
RUNS=${1:-3}
ROWS=${2:-2000000}
SEED=${SEED:-1}
SCALING=${SCALING:-1}
PIN=${PIN:-1}
if [ "$PIN" = 1 ]; then ONE_CORE=(taskset -c 0); BIND=core; TORCH_PIN=(--pin); else ONE_CORE=(); BIND=none; TORCH_PIN=(); fi
BATCHES=(32 256 4096)
read -r -a EC_STEPS <<<"${EC_STEPS:-60000 12000 1000}"
read -r -a PT_STEPS <<<"${PT_STEPS:-2000 1200 300}"
PNG=${PNG:-bench/vs_pytorch.png}
PY=/usr/bin/python3  # Debian's Python, which sees python3-torch and python3-h5py
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
bench_tmp ectrain_vs_pytorch

# Packages.
if ! $PY -c 'import torch, h5py, matplotlib' 2>/dev/null || [ ! -x /usr/bin/time ] || [ ! -f "$OPENBLAS/libblas.so.3" ]; then
  pkgs="python3-torch python3-h5py python3-matplotlib time libopenblas0-pthread"
  echo "installing $pkgs" >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >"$TMP/apt.log" 2>&1 ||
    { apt-get update >>"$TMP/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >>"$TMP/apt.log" 2>&1; } ||
    { tail -20 "$TMP/apt.log"; exit 1; }
fi
TORCH_ENV=(env LD_LIBRARY_PATH="$OPENBLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

private_ectrain

# The data (cached by size and seed) and the model (bench/lib.sh).
ctr_data "$ROWS" "$SEED"
ctr_config "$TMP/vs_pytorch.yaml"

jfield() { sed -E "s/.*\"$2\": ([0-9.e+-]+).*/\1/" "$1"; }

# Others share this machine: each run waits for a quiet machine and records its foreign load (see
# bench/lib.sh), measured with the shell's `times` (no cgroup: /usr/bin/time waits for everything
# it starts). Runs are not repeated.
measured_to() {  # measured_to LOG COMMAND...: measured COMMAND, output to LOG; stops the benchmark if it fails
  local log=$1 rc=0
  shift
  measured "$@" >"$log" 2>&1 || rc=$?
  [ $rc -eq 0 ] || { echo "failed ($rc): $*" >&2; tail -30 "$log" >&2; exit 1; }
}

# Each run appends "round samples/s test_log_loss peak_rss_MB foreign_load train_seconds steps" to $TMP/NAME.txt.
ectrain_run() {  # ectrain_run ROUND NAME RANKS GLOBAL_BATCH STEPS [ARGS...]
  local round=$1 name=$2 ranks=$3 batch=$4 steps=$5 dir=$TMP/$2_$1
  shift 5
  local cmd=("$ECTRAIN" train "$TMP/vs_pytorch.yaml" --set train.global_batch_size="$batch"
    --set train.max_steps="$steps" --set "train.output_dir=$dir" "$@")
  if [ "$ranks" -gt 1 ]; then cmd=(mpirun -np "$ranks" --bind-to "$BIND" "${cmd[@]}"); else cmd=("${ONE_CORE[@]}" "${cmd[@]}"); fi
  measured_to "$dir.log" /usr/bin/time -f "peak_rss_kb %M" -o "$dir.rss" "${cmd[@]}"
  local m=$dir/metrics.jsonl
  echo "$round $(field "$m" samples_per_second) $(event_field "$m" eval log_loss)" \
    "$(awk '{ print $2 / 1024 }' "$dir.rss") $FOREIGN $(field "$m" train_seconds) $(field "$m" steps)" >>"$TMP/$name.txt"
  grep -m1 -oE "row-sparse embedding tables [0-9]+" "$dir.log" | grep -oE '[0-9]+$' >"$TMP/$name.tables"
  phases_to "$TMP/$name.phases" "$round" "$m"
  rm -rf "$dir"  # the checkpoint
}
# Two independent 1-process runs at once (a core each with PIN=1): what this machine gives two
# processes that never wait for each other, the ceiling of 2 ranks / 1 at the time of the round.
# Appends "round summed_samples/s test_log_loss(first) 0 foreign_load train_seconds(first) steps" (no RSS).
pair_run() {  # pair_run ROUND NAME GLOBAL_BATCH STEPS
  local round=$1 name=$2 batch=$3 steps=$4 dir=$TMP/$2_$1
  PAIR_CORES=$([ "$PIN" = 1 ] && echo "0 1") measured_to "$dir.log" pair "$ECTRAIN" train "$TMP/vs_pytorch.yaml" \
    --set train.global_batch_size="$batch" --set train.max_steps="$steps" --set "train.output_dir=$dir"
  echo "$round $(awk -v a="$(field "$dir/metrics.jsonl" samples_per_second)" -v b="$(field "$dir.b/metrics.jsonl" samples_per_second)" 'BEGIN { print a + b }')" \
    "$(event_field "$dir/metrics.jsonl" eval log_loss)" \
    "0 $FOREIGN $(field "$dir/metrics.jsonl" train_seconds) $(field "$dir/metrics.jsonl" steps)" >>"$TMP/$name.txt"
  phases_to "$TMP/$name.phases" "$round" "$dir/metrics.jsonl"
  rm -rf "$dir" "$dir.b"
}
torch_run() {  # torch_run ROUND NAME RANKS GLOBAL_BATCH STEPS [--dense-adam]
  local round=$1 name=$2 ranks=$3 batch=$4 steps=$5 dir=$TMP/$2_$1 pin=()
  shift 5
  [ "$ranks" -eq 1 ] && pin=("${ONE_CORE[@]}")
  measured_to "$dir.log" /usr/bin/time -f "peak_rss_kb %M" -o "$dir.rss" "${TORCH_ENV[@]}" "${pin[@]}" "$PY" bench/pytorch_reference.py \
    --train "$DATA/T.h5" --test "$DATA/E.h5" --batch "$batch" --steps "$steps" --ranks "$ranks" --threads 1 "${TORCH_PIN[@]}" "$@"
  grep '"trainer": "pytorch"' "$dir.log" >"$dir.json"
  echo "$round $(jfield "$dir.json" samples_per_second) $(jfield "$dir.json" log_loss)" \
    "$(awk '{ print $2 / 1024 }' "$dir.rss") $FOREIGN $(jfield "$dir.json" train_seconds) $(jfield "$dir.json" steps)" >>"$TMP/$name.txt"
  jfield "$dir.json" row_sparse_tables >"$TMP/$name.tables"
}

# name|kind|ranks|global batch|steps|extra
CONFIGS=()
for i in "${!BATCHES[@]}"; do
  b=${BATCHES[$i]}
  CONFIGS+=("ec_$b|ectrain|1|$b|${EC_STEPS[$i]}|" "ecm_$b|ectrain|1|$b|${PT_STEPS[$i]}|"
    "ecs_$b|ectrain|1|$b|${EC_STEPS[$i]}|--set data.in_memory=false"
    "pts_$b|torch|1|$b|${PT_STEPS[$i]}|" "ptd_$b|torch|1|$b|${PT_STEPS[$i]}|--dense-adam")
  if [ "$SCALING" = 1 ] && [ "$b" -ge 256 ]; then
    CONFIGS+=("ec2_$b|ectrain|2|$((2 * b))|${EC_STEPS[$i]}|" "pt2_$b|torch|2|$((2 * b))|${PT_STEPS[$i]}|"
      "ecx_$b|pair|2|$b|${EC_STEPS[$i]}|"
      "ec2m_$b|ectrain|2|$((2 * b))|${EC_STEPS[$i]}|--set comm.host_shared_memory=false")
  fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start_time=$SECONDS
one_run() {  # one_run ROUND "NAME|KIND|RANKS|GLOBAL_BATCH|STEPS|EXTRA"
  local round=$1 name kind ranks batch steps extra
  IFS='|' read -r name kind ranks batch steps extra <<<"$2"
  echo "round $round/$RUNS: $name ($kind, $ranks rank(s), global batch $batch, $steps steps)" >&2
  # shellcheck disable=SC2086  # extra: empty, or flags split at spaces
  if [ "$kind" = ectrain ]; then ectrain_run "$round" "$name" "$ranks" "$batch" "$steps" $extra
  elif [ "$kind" = pair ]; then pair_run "$round" "$name" "$batch" "$steps"
  else torch_run "$round" "$name" "$ranks" "$batch" "$steps" $extra; fi
}
in_rounds "$RUNS" one_run
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

torch_version=$(grep -h -m1 -oE '"torch": "[^"]+"' "$TMP"/pts_32_1.json | cut -d'"' -f4)

echo "machine: $NCORES cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"); $(date -u +%F)"
echo "ectrain $(git describe --always --dirty 2>/dev/null || echo unknown); PyTorch $torch_version (Debian python3-torch, CPU, OpenBLAS" \
  "$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null)); Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$');" \
  "1 thread per process (OMP_NUM_THREADS=1, torch.set_num_threads(1)); $([ "$PIN" = 1 ] && echo "one core per process (PIN=1)" || echo "unpinned (PIN=0)")"
echo "data: $ROWS generated rows (seed $SEED), $(grep -oE 'train: .*' "$DATA/prepare.log" | grep -oE '[0-9]+ rows' | head -1) for training," \
  "$(grep -oE 'test: .*' "$DATA/prepare.log" | grep -oE '[0-9]+ rows') for test, held in memory by both (ectrain: data.in_memory; \"streaming\": read from the file while training); vocab sizes $($PY -c "import h5py, json; print(json.loads(h5py.File('$DATA/T.h5')['ectrain/schema'][()])['vocab_sizes'])")"
echo "rounds: $RUNS (medians; ratios: medians of per-round ratios); $(((SECONDS - start_time) / 60)) min; load average before/after: $load_before / $load_after"
all=$(foreign_loads 5 "$TMP"/*.txt)
echo "foreign load (CPU of other processes during a run, share of the machine): median $(echo "$all" | median)," \
  "max $(echo "$all" | sort -g | tail -1); waited for a quiet machine: $WAITED s"
echo
echo "Throughput, 1 process x 1 thread (samples/s, step loop only)"
echo
echo "| global batch | steps ectrain / PyTorch | row-sparse tables | ectrain | ectrain streaming | in memory / streaming | PyTorch sparse | PyTorch dense | ectrain / PyTorch sparse | ectrain / PyTorch dense | ectrain streaming / PyTorch sparse |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for i in "${!BATCHES[@]}"; do
  b=${BATCHES[$i]}
  printf '| %s | %s / %s | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.1f | %.1f | %.1f |\n' "$b" "${EC_STEPS[$i]}" "${PT_STEPS[$i]}" \
    "$(cat "$TMP/ec_$b.tables")" "$(col "ec_$b" 2)" "$(col "ecs_$b" 2)" "$(ratio "ec_$b" "ecs_$b")" "$(col "pts_$b" 2)" \
    "$(col "ptd_$b" 2)" "$(ratio "ec_$b" "pts_$b")" "$(ratio "ec_$b" "ptd_$b")" "$(ratio "ecs_$b" "pts_$b")"
done
echo
echo "Same training, same steps (PyTorch's): test log-loss ($(grep -oE 'test: .*' "$DATA/prepare.log" | grep -oE '[0-9]+ rows') of E.h5); peak RSS (/usr/bin/time)"
echo
echo "| global batch | steps | log-loss ectrain | PyTorch sparse | PyTorch dense | ectrain vs PyTorch sparse | peak RSS (MB) ectrain | PyTorch sparse | PyTorch dense |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for i in "${!BATCHES[@]}"; do
  b=${BATCHES[$i]}
  ec=$(col "ecm_$b" 3)
  pts=$(col "pts_$b" 3)
  printf '| %s | %s | %.4f | %.4f | %.4f | %+.2f%% | %.0f | %.0f | %.0f |\n' "$b" "${PT_STEPS[$i]}" "$ec" "$pts" "$(col "ptd_$b" 3)" \
    "$(awk -v a="$ec" -v b="$pts" 'BEGIN { print (a / b - 1) * 100 }')" "$(col "ec_$b" 4)" "$(col "pts_$b" 4)" "$(col "ptd_$b" 4)"
done
if [ "$SCALING" = 1 ]; then
  echo
  echo "2 ranks (global batch 2B) vs 1 (B): ectrain mpirun -np 2 --bind-to $BIND; PyTorch DDP, gloo, sparse variant, 2 processes x 1 thread$([ "$PIN" = 1 ] && echo ", a core each")"
  echo
  echo "ceiling: two independent 1-process ectrain runs at once$([ "$PIN" = 1 ] && echo ", a core each"), their samples/s summed, over 1 process"
  echo
  echo "| per-rank batch | ectrain 1 rank | ectrain 2 ranks | ectrain 2 / 1 | ceiling 2 / 1 | ectrain 2 ranks, MPI messages | its 2 / 1 | PyTorch 1 process | PyTorch DDP 2 | PyTorch 2 / 1 | ectrain / PyTorch, 2 ranks |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for b in "${BATCHES[@]}"; do
    [ -f "$TMP/ec2_$b.txt" ] || continue
    printf '| %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %.0f | %.0f | %.2f | %.1f |\n' "$b" "$(col "ec_$b" 2)" "$(col "ec2_$b" 2)" \
      "$(ratio "ec2_$b" "ec_$b")" "$(ratio "ecx_$b" "ec_$b")" "$(col "ec2m_$b" 2)" "$(ratio "ec2m_$b" "ec_$b")" \
      "$(col "pts_$b" 2)" "$(col "pt2_$b" 2)" "$(ratio "pt2_$b" "pts_$b")" "$(ratio "ec2_$b" "pt2_$b")"
  done
  echo
  echo "per round, ectrain 2 / 1 (host segment; MPI messages):"
  for b in "${BATCHES[@]}"; do
    if [ -f "$TMP/ec2_$b.txt" ]; then echo "  batch $b: $(round_ratios "ec2_$b" "ec_$b" "ec2m_$b" "ec_$b")"; fi
  done
  echo
  echo "Where ectrain's step loop goes (rank 0, microseconds per step, medians): 1 rank alone; 1 rank while another"
  echo "1-process run has the other core (the ceiling's first run); 2 ranks. Syncs include waiting for the other rank."
  echo
  phases_header
  for b in "${BATCHES[@]}"; do
    [ -f "$TMP/ec2_$b.phases" ] || continue
    phases_rows "$b" "ec_$b|1 rank" "ecx_$b|1 rank beside another" "ec2_$b|2 ranks" "ec2m_$b|2 ranks, MPI messages"
  done
fi
echo
echo "per-round ratios (round: ectrain / PyTorch sparse, ectrain / PyTorch dense):"
for b in "${BATCHES[@]}"; do echo "  batch $b: $(round_ratios "ec_$b" "pts_$b" "ec_$b" "ptd_$b")"; done
echo "per run (round: samples/s, test log-loss, peak RSS MB, foreign load):"
for c in "${CONFIGS[@]}"; do
  name=${c%%|*}
  echo "  $name: $(awk '{ printf "%s: %.0f %.4f %.0f %.2f; ", $1, $2, $3, $4, $5 }' "$TMP/$name.txt")"
done

# The chart: samples/s against global batch, log scales.
{
  for b in "${BATCHES[@]}"; do
    echo "$b $(ratio "ec_$b" "pts_$b") $(col "ec_$b" 2) $(col "pts_$b" 2) $(col "ptd_$b" 2)" \
      "$([ -f "$TMP/ec2_$b.txt" ] && echo "$(col "ec2_$b" 2) $(col "pt2_$b" 2)")"
  done
} >"$TMP/chart.txt"
MPLBACKEND=Agg $PY - "$TMP/chart.txt" "$PNG" "$ROWS" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" <<'EOF'
import sys
import matplotlib.pyplot as plt
rows = [list(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
# Columns: batch, ectrain / PyTorch sparse (median of per-round ratios), medians of ectrain, PyTorch
# sparse, PyTorch dense, and (when run) ectrain 2 ranks, PyTorch DDP 2 processes.
b = [r[0] for r in rows]
for col, label, style in [(2, "ectrain", "o-"), (3, "PyTorch, SparseAdam for large tables", "s--"),
                          (4, "PyTorch, dense Adam", "^:")]:
    ax.plot(b, [r[col] for r in rows], style, label=label)
for r in rows:
    ax.annotate(f"{r[1]:.1f}x PyTorch sparse", (r[0], r[2]), textcoords="offset points", xytext=(0, 9), ha="center",
                fontsize=8)
two = [r for r in rows if len(r) >= 7]
if two:
    ax.plot([r[0] for r in two], [r[5] for r in two], "o", mfc="none", ms=9, color="C0", label="ectrain, 2 ranks (batch B each)")
    ax.plot([r[0] for r in two], [r[6] for r in two], "s", mfc="none", ms=9, color="C1", label="PyTorch DDP, 2 processes")
ax.margins(x=0.15)
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_ylim(min(min(r[2:]) for r in rows) / 2, 4 * max(max(r[2:]) for r in rows))  # room for the labels
ax.set_xticks(b)
ax.set_xticklabels([str(int(x)) for x in b])
ax.set_xlabel("batch per process (global batch for 1 process)")
ax.set_ylabel("training samples / s (step loop)")
ax.set_title(f"CTR MLP, {int(float(sys.argv[3])):,} rows, 1 thread per process\n{sys.argv[4]}", fontsize=9)
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2])
EOF
echo
echo "chart: $PNG"
