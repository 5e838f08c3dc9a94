#!/usr/bin/env bash
# Quality on sparse click data: established learners (bench/quality/baselines.py: constant,
# logistic regression, XGBoost on target encodings, PyTorch matrix factorisation) and ectrain's
# models on the same train/validation/test files, each tuned on validation and scored once on test,
# beside the hidden model's own figures (the Bayes figure) when the data is synthetic.
#
#   bench/quality/run.sh [SIZE OPTIONS] [CONFIG.yaml ...]
#       ectrain generate writes the data set (default: 2M training rows, 60k users with Zipf activity
#       so half have 12 rows or fewer, 20k items with Zipf popularity, 200 categories, 5% clicks,
#       price/age/rating-like dense columns scaled as `prepare` would, 10% validation and 10% test)
#   bench/quality/run.sh --prepare PREPARE_CONFIG [--set KEY=VALUE ...] [CONFIG.yaml ...]
#       real data: `ectrain prepare PREPARE_CONFIG` with a validation file (prepare.validation_fraction
#       0.1 unless --set), e.g. --prepare configs/quickstart.yaml (the bundled Online Shoppers set)
#   bench/quality/run.sh --files TRAIN VALIDATION TEST [CONFIG.yaml ...]
#       files made already (by `ectrain prepare` or `generate`; for generated files, name their
#       columns to the configs: --set data.label=clicked --set data.dense=[d0,d1,d2] ...)
#
# Each CONFIG is trained with `ectrain train CONFIG --set data.train=... --set data.validation=...
# --set data.test=...` (and, on generated data, its columns), so its keep_best and early stopping
# choose on validation and the test file is scored once; its figures are read from the run's
# metrics.jsonl (the `best` line, else `done`).
#
# Size options (generated data): --rows N (2000000), --users N (60000), --items N (20000),
# --categories N (200), --dense N (3), --positive-rate R (0.05), --user-zipf S (0.85),
# --item-zipf S (1.05), --item-category-share F (generate's default), --seed N (1),
# --quick (300k rows, 9k users, 3k items, 60 categories: a few minutes).
# Other options: --out DIR (default ${TMPDIR:-/tmp}/ectrain-quality), --np N (mpirun ranks for the
# configs; 1: no mpirun), --set KEY=VALUE (every ectrain prepare/train command),
# --baselines "ARGS" (more arguments for baselines.py, e.g. "--learners constant,logreg"),
# --no-baselines.
# Environment: ECTRAIN (the program; default build/src/ectrain), ECTRAIN_BENCH_VENV (the Python
# environment, created when missing with numpy, scipy, h5py, scikit-learn, xgboost and torch;
# default ~/.cache/ectrain-bench-quality-venv; never inside the repository).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"

ROWS=2000000 USERS=60000 ITEMS=20000 CATEGORIES=200 DENSE=3 RATE=0.05 USER_ZIPF=0.85 ITEM_ZIPF=1.05 SEED=1
SHARE="" MODE=generate PREPARE_CONFIG="" FILES=() CONFIGS=() SETS=() NP=1 BASELINE_ARGS="" BASELINES=1
OUT=${TMPDIR:-/tmp}/ectrain-quality
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --items) ITEMS=$2; shift 2 ;;
    --categories) CATEGORIES=$2; shift 2 ;;
    --dense) DENSE=$2; shift 2 ;;
    --positive-rate) RATE=$2; shift 2 ;;
    --user-zipf) USER_ZIPF=$2; shift 2 ;;
    --item-zipf) ITEM_ZIPF=$2; shift 2 ;;
    --item-category-share) SHARE=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --quick) ROWS=300000 USERS=9000 ITEMS=3000 CATEGORIES=60; shift ;;
    --out) OUT=$2; shift 2 ;;
    --np) NP=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --baselines) BASELINE_ARGS=$2; shift 2 ;;
    --no-baselines) BASELINES=0; shift ;;
    --prepare) MODE=prepare PREPARE_CONFIG=$2; shift 2 ;;
    --files) MODE=files FILES=("$2" "$3" "$4"); shift 4 ;;
    -h | --help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) CONFIGS+=("$1"); shift ;;
  esac
done
ECTRAIN=${ECTRAIN:-build/src/ectrain}
[ -x "$ECTRAIN" ] || { echo "build first: cmake -S . -B build && make -C build -j ectrain (or set ECTRAIN)" >&2; exit 1; }
ECTRAIN=$(realpath "$ECTRAIN")
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
START=$(date +%s)
stage() { echo "== $1 ($(($(date +%s) - START)) s)"; }

# --- the Python environment ---
VENV=${ECTRAIN_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ectrain-bench-quality-venv}
case "$(realpath -m "$VENV")/" in
  "$REPO"/*) echo "ECTRAIN_BENCH_VENV=$VENV is inside the repository; choose a folder outside it" >&2; exit 2 ;;
esac
PY=$VENV/bin/python
if [ "$BASELINES" -eq 1 ] && ! "$PY" -c "import numpy, scipy, h5py, sklearn, xgboost, torch" 2>/dev/null; then
  stage "installing numpy scipy h5py scikit-learn xgboost torch into $VENV"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q numpy scipy h5py scikit-learn xgboost
  # The CPU-only wheel is a tenth of the size; PyPI's default one works too where that index is unreachable.
  "$PY" -m pip install -q --timeout 20 torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null ||
    "$PY" -m pip install -q torch
fi

# --- the data ---
DATA_SETS=()  # the column flags for training on generated data
case "$MODE" in
  generate)
    TRAIN=$OUT/train.h5 VALIDATION=$OUT/validation.h5 TEST=$OUT/test.h5
    stage "ectrain generate: $ROWS rows, $USERS users, $ITEMS items, $CATEGORIES categories -> $OUT"
    rm -f "$TRAIN" "$VALIDATION" "$TEST"
    "$ECTRAIN" generate --out "$TRAIN" --rows "$ROWS" --validation-rows $((ROWS / 10)) --test-rows $((ROWS / 10)) \
      --users "$USERS" --items "$ITEMS" --categories "$CATEGORIES" --dense "$DENSE" --positive-rate "$RATE" \
      --user-zipf "$USER_ZIPF" --item-zipf "$ITEM_ZIPF" ${SHARE:+--item-category-share "$SHARE"} --recent-items 0 \
      --scale-dense --seed "$SEED" | tee "$OUT/generate.log"
    dense=$(seq -s, -f 'd%g' 0 $((DENSE - 1)))
    DATA_SETS=(--set data.label=clicked --set "data.dense=[${dense}]" --set "data.categorical=[user,item,category]"
      --set "data.multi_valued=[]")
    ;;
  prepare)
    TRAIN=$OUT/train.h5 VALIDATION=$OUT/validation.h5 TEST=$OUT/test.h5
    stage "ectrain prepare $PREPARE_CONFIG -> $OUT"
    "$ECTRAIN" prepare "$PREPARE_CONFIG" --set prepare.validation_fraction=0.1 "${SETS[@]}" \
      --set "data.train=$TRAIN" --set "data.validation=$VALIDATION" --set "data.test=$TEST" | tee "$OUT/prepare.log"
    ;;
  files) TRAIN=${FILES[0]} VALIDATION=${FILES[1]} TEST=${FILES[2]} ;;
esac

# --- the baselines ---
if [ "$BASELINES" -eq 1 ]; then
  stage "baselines"
  # shellcheck disable=SC2086  # BASELINE_ARGS is a list of arguments
  "$PY" bench/quality/baselines.py --train "$TRAIN" --validation "$VALIDATION" --test "$TEST" \
    --json "$OUT/baselines.json" $BASELINE_ARGS | tee "$OUT/baselines.log"
fi

# --- ectrain's models ---
RUNS=()
[ ${#CONFIGS[@]} -gt 0 ] && mkdir -p "$OUT/runs"
for config in "${CONFIGS[@]}"; do
  name=$(basename "$config" .yaml)
  run=$OUT/runs/$name
  stage "ectrain train $config -> $run"
  launch=("$ECTRAIN")
  [ "$NP" -gt 1 ] && launch=(mpirun -np "$NP" --oversubscribe --bind-to none "$ECTRAIN")
  started=$(date +%s)
  if "${launch[@]}" train "$config" "${DATA_SETS[@]}" "${SETS[@]}" --set "data.train=$TRAIN" \
    --set "data.validation=$VALIDATION" --set "data.test=$TEST" --set "train.output_dir=$run" --fresh \
    >"$run.log" 2>&1; then
    RUNS+=("$name=$run=$(($(date +%s) - started))")
  else
    echo "ectrain train $config failed; the end of $run.log:" >&2
    tail -20 "$run.log" >&2
    RUNS+=("$name=FAILED=0")
  fi
done

# --- one table ---
stage "results"
python3 - "$OUT" "$OUT/baselines.json" "${RUNS[@]}" <<'EOF'
import json, os, sys
out, baselines_json, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = []
if os.path.exists(baselines_json):
    for r in json.load(open(baselines_json))["learners"]:
        rows.append((r["name"], r["test"]["auc"], r["test"]["log_loss"], r["seconds"]))
for spec in runs:
    name, run, seconds = spec.rsplit("=", 2)
    lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))] if run != "FAILED" else []
    best = [l for l in lines if l.get("event") == "best"] or [l for l in lines if l.get("event") == "done"]
    test = best[-1].get("test", best[-1]) if best else {}
    rows.append(("ectrain " + name, test.get("auc", float("nan")), test.get("log_loss", float("nan")), float(seconds)))
bayes = next((r for r in rows if r[0].startswith("hidden model")), None)
# Seconds: wall-clock, tuning included (baselines: every setting tried; ectrain: the train command).
print(f"{'learner':<28} {'test AUC':>9} {'test log-loss':>14} {'AUC below Bayes':>16} {'log-loss above':>15} "
      f"{'seconds':>8}")
for name, auc, ll, seconds in rows:
    versus = bayes and not name.startswith("hidden model")
    gaps = f"{bayes[1] - auc:16.4f} {ll - bayes[2]:15.4f}" if versus else " " * 32
    print(f"{name:<28} {auc:>9.4f} {ll:>14.4f} {gaps} {seconds:>8.0f}")
json.dump([{"learner": n, "test_auc": a, "test_log_loss": l, "seconds": s} for n, a, l, s in rows],
          open(os.path.join(out, "results.json"), "w"), indent=1)
print(f"(also in {out}/results.json)")
EOF
stage "done"
