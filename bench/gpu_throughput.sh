#!/usr/bin/env bash
# Training throughput on one GPU: ectrain (train.device: cuda, one process, no mpirun: a local
# communicator) against PyTorch (bench/gpu_pytorch.py: eager, and torch.compile after the lookups)
# on the same GPU, model and data, at global batches 4096 and 65536; and the share of the GPU's
# copy bandwidth that the embeddings' least traffic takes at each trainer's speed.
#
# Models:
#   seed  bench/vs_pytorch.sh's: its click data (bench/lib.sh ctr_data: 2,000,000 rows, user 60k,
#         item 20k and category 300 ids, 3 dense), embeddings of width 16 -> 64 -> 32 -> 1, Adam 1e-3
#   dlrm  DLRM-like, large tables: 26 categorical columns of 1,000,000 ids each (power-law
#         popularity), 13 dense, embeddings of width 16 concatenated with the dense values ->
#         512 -> 256 -> 1, Adam 1e-3 (SparseAdam on the row-sparse tables in PyTorch, as ectrain's
#         lazy rule); 4,194,304 training rows (bench/gpu_pytorch.py --generate)
# Both trainers hold the data in memory (ectrain data.in_memory on the host, PyTorch on the device)
# and train --epochs epochs; epoch 1 is warm-up, each later epoch a timed window, and a figure is the
# median of the windows (of all --runs runs). Runs go in passes, ectrain and eager first, then
# torch.compile, and a run starts only while the --budget has time for it: what did not fit says so.
#
# Usage: bench/gpu_throughput.sh [--device cuda|cpu] [--budget SECONDS] [--runs N] [--epochs N]
#          [--batches "4096 65536"] [--models "seed dlrm"] [--modes "ectrain eager compile"]
#          [--tiny] [--out FILE] [--ectrain PATH] [--python PY]
#   --device cpu    the same plumbing with train.device: cpu and PyTorch on the CPU (checks the
#                   script where there is no GPU; with --tiny it takes about a minute on 2 cores)
#   --tiny          small data: seed 20,000 rows; dlrm 16,384 rows, tables of 1,000 ids; batches
#                   256 and 1024, 2 epochs
#   --out FILE      also write the result tables there (markdown)
# Environment: ECTRAIN (the program; default build/src/ectrain), PYTHON (default: python3 if it
# imports torch and h5py, else /usr/bin/python3). Runs from anywhere.
set -u
QUIET_WAIT=0  # bench/lib.sh: no waiting for an idle machine (a lent GPU machine is ours alone)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 1

DEVICE=cuda BUDGET=600 RUNS=1 EPOCHS=4 BATCHES="4096 65536" MODELS="seed dlrm" MODES="ectrain eager compile"
OUT_FILE="" TINY=0 SEED_ROWS=2000000 DLRM_ROWS=4194304 DLRM_VOCAB=1000000
ECTRAIN=${ECTRAIN:-build/src/ectrain}
PY=${PYTHON:-}
while [ $# -gt 0 ]; do
  case $1 in
    --device) DEVICE=$2; shift ;;
    --budget) BUDGET=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --epochs) EPOCHS=$2; shift ;;
    --batches) BATCHES=$2; shift ;;
    --models) MODELS=$2; shift ;;
    --modes) MODES=$2; shift ;;
    --out) OUT_FILE=$2; shift ;;
    --ectrain) ECTRAIN=$2; shift ;;
    --python) PY=$2; shift ;;
    --tiny) TINY=1 ;;
    -h | --help) sed -n '2,/^set -u/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;;
    *) echo "gpu_throughput: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$TINY" = 1 ]; then
  SEED_ROWS=20000 DLRM_ROWS=16384 DLRM_VOCAB=1000 EPOCHS=2
  [ "$BATCHES" = "4096 65536" ] && BATCHES="256 1024"
fi
case $DEVICE in cuda | cpu) ;; *) echo "gpu_throughput: --device is cuda or cpu" >&2; exit 2 ;; esac
ECTRAIN=$(realpath "$ECTRAIN")
[ -x "$ECTRAIN" ] || { echo "gpu_throughput: no program at $ECTRAIN (build it, or --ectrain PATH)" >&2; exit 2; }
if [ -z "$PY" ]; then
  for PY in python3 /usr/bin/python3; do "$PY" -c 'import torch, h5py' 2>/dev/null && break; done
fi
TORCH_VERSION=$("$PY" -c 'import torch, h5py; print(torch.__version__)' 2>/dev/null) ||
  { echo "gpu_throughput: $PY cannot import torch and h5py" >&2; exit 2; }
START=$SECONDS
left() { echo $((BUDGET - (SECONDS - START))); }
# A run's time limit: what is left of the budget, at most CAP seconds (a slow run leaves time to the others).
limit() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
bench_tmp ectrain_gpu_throughput
RESULTS=$TMP/results  # one line per run: model batch trainer samples/s auc log_loss window...
: >"$RESULTS"

# jfield FILE KEY: KEY of the JSON line in FILE (dotted for nested keys, e.g. test.auc).
jfield() {
  "$PY" -c 'import json, sys
v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"
}

# The data and each model's settings (one of each, shared by both trainers).
declare -A CONFIG PT_ARGS BYTES
seed_model() {
  ctr_data "$SEED_ROWS" 1  # DATA, cached under /tmp/ectrain_vs_pytorch
  ctr_config "$TMP/seed.yaml"
  CONFIG[seed]=$TMP/seed.yaml
  PT_ARGS[seed]="--train $DATA/T.h5 --test $DATA/E.h5 --dim 16 --hidden 64,32"
}
dlrm_model() {
  local dir=/tmp/ectrain_gpu_dlrm/rows${DLRM_ROWS}_vocab$DLRM_VOCAB j cats dense vocab sizes
  if [ ! -f "$dir/test.h5" ]; then
    echo "generating the DLRM-like data ($DLRM_ROWS rows, 26 tables of $DLRM_VOCAB ids) into $dir" >&2
    rm -rf "$dir" && "$PY" bench/gpu_pytorch.py --generate "$dir.tmp" --rows "$DLRM_ROWS" --vocab "$DLRM_VOCAB" \
      --test-rows $((DLRM_ROWS < 65536 ? DLRM_ROWS / 4 : 65536)) >/dev/null && mv "$dir.tmp" "$dir" || return 1
  fi
  cats=$(for j in $(seq 0 25); do printf 'c%d,' "$j"; done) cats=${cats%,}
  dense=$(for j in $(seq 0 12); do printf 'd%d,' "$j"; done) dense=${dense%,}
  vocab=$(for j in $(seq 0 25); do printf 'c%d: %d, ' "$j" "$DLRM_VOCAB"; done)
  sizes=$(for j in $(seq 0 25); do printf '%d,' "$DLRM_VOCAB"; done)
  cat >"$TMP/dlrm.yaml" <<EOF
data:
  train: $dir/train.h5
  test: $dir/test.h5
  label: clicked
  dense: [$dense]
  categorical: [$cats]
  vocab_sizes: {${vocab%, }}
  in_memory: true
model:
  type: mlp
  embedding_dim: 16
  hidden_units: [512, 256]
optimizer:
  type: adam
  learning_rate: 0.001
  beta1: 0.9
  beta2: 0.999
  epsilon: 1.0e-8
train:
  seed: 42
  log_every_steps: 1000
eval:
  every_epochs: 0
checkpoint:
  every_steps: 0
  keep_last: 1
EOF
  CONFIG[dlrm]=$TMP/dlrm.yaml
  PT_ARGS[dlrm]="--train $dir/train.h5 --test $dir/test.h5 --dense $dense --categorical $cats --vocab-sizes ${sizes%,} --dim 16 --hidden 512,256"
}

# run_ectrain MODEL BATCH ROUND: one training process; its epochs 2.. are the windows.
run_ectrain() {
  local model=$1 batch=$2 dir=$TMP/ec_$1_$2_$3 m
  # model.initial_bias zero: the output bias starts at 0, as pytorch_reference.py's.
  timeout -k 10 "$(limit 150)" "$ECTRAIN" train "${CONFIG[$model]}" --set train.device="$DEVICE" --set model.initial_bias=zero \
    --set train.global_batch_size="$batch" --set train.epochs="$EPOCHS" --set train.output_dir="$dir" \
    >"$dir.log" 2>&1 || { echo "ectrain $model batch $batch failed or ran out of time:" >&2; tail -5 "$dir.log" >&2; return 1; }
  m=$dir/metrics.jsonl
  echo "$model $batch ectrain $(grep '"event":"epoch"' "$m" | tail -n +2 | sed -E 's/.*"samples_per_second":([0-9.e+-]+).*/\1/' | median)" \
    "$(event_field "$m" eval auc) $(event_field "$m" eval log_loss)" \
    "$(grep '"event":"epoch"' "$m" | tail -n +2 | sed -E 's/.*"samples_per_second":([0-9.e+-]+).*/\1/' | tr '\n' ' ')" >>"$RESULTS"
  rm -rf "$dir"  # the checkpoint (5 GB for dlrm)
}
# run_torch MODEL BATCH MODE ROUND
run_torch() {
  local model=$1 batch=$2 mode=$3 log=$TMP/pt_$1_$2_$3_$4.log flag=()
  [ "$mode" = compile ] && flag=(--compile)
  # shellcheck disable=SC2086  # PT_ARGS: flags split at spaces
  timeout -k 10 "$(limit $([ "$mode" = compile ] && echo 210 || echo 150))" "$PY" bench/gpu_pytorch.py ${PT_ARGS[$model]} --device "$DEVICE" --batch "$batch" \
    --epochs "$EPOCHS" "${flag[@]}" >"$log" 2>&1
  local rc=$?
  if [ $rc -eq 3 ]; then  # PyTorch cannot (torch.compile before 2.0): a note, not a failure
    echo "$model $batch $mode n/a $(jfield "$log" error)" >>"$TMP/notes"
    return 0
  fi
  [ $rc -eq 0 ] || { echo "PyTorch $mode $model batch $batch failed or ran out of time:" >&2; tail -5 "$log" >&2; return 1; }
  echo "$model $batch $mode $(jfield "$log" samples_per_second) $(jfield "$log" test.auc) $(jfield "$log" test.log_loss)" \
    "$(jfield "$log" window_samples_per_second)" >>"$RESULTS"
}

# The least time a run needs (seconds): a run that cannot finish is not started.
needs() {  # needs MODEL MODE
  local s=20
  [ "$1" = dlrm ] && s=45
  [ "$2" = compile ] && s=$((s + 60))
  [ "$TINY" = 1 ] && s=5
  echo $s
}
FAILED=0
one_run() {  # one_run MODEL BATCH MODE ROUND
  if [ "$(left)" -lt "$(needs "$1" "$3")" ]; then
    echo "$1 $2 $3 not run: the budget of $BUDGET s ran out" >>"$TMP/notes"
    return
  fi
  echo "[$((SECONDS - START)) s] $1, global batch $2: $3 (round $4)" >&2
  if [ "$3" = ectrain ]; then run_ectrain "$1" "$2" "$4" || FAILED=1
  else run_torch "$1" "$2" "$3" "$4" || FAILED=1; fi
}

echo "device: $DEVICE; budget $BUDGET s; epochs $EPOCHS (1 warm-up); runs $RUNS; batches $BATCHES; models $MODELS" >&2
COPY_BW=$("$PY" bench/gpu_pytorch.py --copy-bandwidth $([ "$DEVICE" = cuda ] && echo 2048 || echo 256) --device "$DEVICE" |
  "$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["bytes_per_second"])') || COPY_BW=0
ready=()
for model in $MODELS; do
  "${model}_model" || { echo "gpu_throughput: no data for $model" >&2; FAILED=1; continue; }
  ready+=("$model")
  for batch in $BATCHES; do
    # shellcheck disable=SC2086
    BYTES[$model.$batch]=$("$PY" bench/gpu_pytorch.py ${PT_ARGS[$model]} --batch "$batch" --embedding-bytes |
      "$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["embedding_bytes_per_step"])')
  done
done
for round in $(seq "$RUNS"); do
  for pass in "ectrain eager" "compile"; do
    for model in "${ready[@]}"; do
      for batch in $BATCHES; do
        for mode in $pass; do [[ " $MODES " == *" $mode "* ]] && one_run "$model" "$batch" "$mode" "$round"; done
      done
    done
  done
done

# The tables: medians over the windows of every run of a configuration.
fig() {  # fig MODEL BATCH TRAINER COLUMN: the median of COLUMN (4 samples/s, 5 AUC) over its runs; "" if none
  local v
  v=$(awk -v m="$1" -v b="$2" -v t="$3" -v c="$4" '$1 == m && $2 == b && $3 == t { print $c }' "$RESULTS")
  [ -z "$v" ] || echo "$v" | median
}
auc() { [ -z "$1" ] && printf -- - || printf '%.4f' "$1"; }
windows() {  # windows MODEL BATCH TRAINER: every window's samples/s, all runs
  awk -v m="$1" -v b="$2" -v t="$3" '$1 == m && $2 == b && $3 == t { for (i = 7; i <= NF; i++) print $i }' "$RESULTS"
}
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
rate() { awk -v a="$1" 'BEGIN { if (a > 0) printf "%.0f", a; else printf "-" }'; }
share() {  # share BYTES_PER_STEP SAMPLES_PER_S BATCH: percent of the copy bandwidth
  awk -v y="$1" -v s="$2" -v b="$3" -v c="$COPY_BW" 'BEGIN { if (s > 0 && c > 0) printf "%.1f%%", 100 * y * s / b / c; else printf "-" }'
}
{
  gpu=$([ "$DEVICE" = cuda ] && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
  echo "GPU throughput, $(date -u +%F): device $DEVICE${gpu:+ ($gpu)}; ectrain $("$ECTRAIN" --version 2>/dev/null | head -1);" \
    "PyTorch $TORCH_VERSION; $(nproc) cores; copy bandwidth $(awk -v c="$COPY_BW" 'BEGIN { printf "%.0f GB/s", c / 1e9 }') (read + written)"
  echo "epochs $EPOCHS per run (1 warm-up), $RUNS run(s); figures: medians of the timed epochs; ectrain one process, local communicator"
  echo
  echo "| model | global batch | ectrain samples/s | PyTorch eager | PyTorch compile | ectrain / eager | ectrain / compile | test AUC ectrain / eager / compile | embedding bytes/step | embeddings' share of copy bandwidth: ectrain / eager / compile |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for model in "${ready[@]}"; do
    for batch in $BATCHES; do
      ec=$(fig "$model" "$batch" ectrain 4) ea=$(fig "$model" "$batch" eager 4) co=$(fig "$model" "$batch" compile 4)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %.3g MB | %s / %s / %s |\n' "$model" "$batch" \
        "$(rate "$ec")" "$(rate "$ea")" "$(rate "$co")" "$(ratio_of "$ec" "$ea")" "$(ratio_of "$ec" "$co")" \
        "$(auc "$(fig "$model" "$batch" ectrain 5)")" "$(auc "$(fig "$model" "$batch" eager 5)")" \
        "$(auc "$(fig "$model" "$batch" compile 5)")" "$(awk -v y="${BYTES[$model.$batch]:-0}" 'BEGIN { print y / 1e6 }')" \
        "$(share "${BYTES[$model.$batch]:-0}" "$ec" "$batch")" "$(share "${BYTES[$model.$batch]:-0}" "$ea" "$batch")" \
        "$(share "${BYTES[$model.$batch]:-0}" "$co" "$batch")"
    done
  done
  echo
  echo "embedding bytes/step: the least traffic of the lookups, their gradients and lazy Adam (bench/gpu_pytorch.py);"
  echo "share: those bytes at the trainer's steps per second over the copy bandwidth (a lower bound of the embedding kernels' own)"
  echo "windows (samples/s of each timed epoch):"
  for model in "${ready[@]}"; do
    for batch in $BATCHES; do
      for t in ectrain eager compile; do
        w=$(windows "$model" "$batch" "$t" | awk '{ printf "%.0f ", $1 }')
        [ -z "$w" ] || echo "  $model $batch $t: $w"
      done
    done
  done
  [ ! -s "$TMP/notes" ] || { echo "notes:"; sed 's/^/  /' "$TMP/notes"; }
} | tee "${OUT_FILE:-/dev/null}"
exit $FAILED
