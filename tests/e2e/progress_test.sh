#!/usr/bin/env bash
# End-to-end: the live progress bar (train.progress) on a terminal, a pseudo-terminal of 40 columns made
# by `script` (util-linux), for one process, --ranks 2, mpirun -np 2 and launch/mpirun.sh -n 2: it appears
# (percent and step/total), is redrawn in place, never reaches the terminal's last column (so it never
# wraps), and log lines start on a line of their own rather than after the bar. With the output in a file:
# plain lines, no redraws; `lines` on a terminal: no bar.
# Usage: tests/e2e/progress_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: progress_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
REPO=$(pwd)
COLS=40
command -v script >/dev/null || { echo "SKIPPED: e2e_progress: needs script (util-linux)"; exit 77; }

"$ECTRAIN" generate --out "$TMP/gen/train.h5" --rows 20000 --test-rows 2000 --seed 1 >"$TMP/generate.log" 2>&1 ||
  fail "generate data" "$TMP/generate.log"
cat >"$TMP/run.yaml" <<YAML
data: {train: $TMP/gen/train.h5, test: $TMP/gen/test.h5, label: clicked, dense: [d0, d1, d2],
       categorical: [user, item, category]}
model: {type: mlp, embedding_dim: 8, hidden_units: [16]}
train: {epochs: 2, global_batch_size: 256, log_every_steps: 50}
YAML
TRAIN=(train "$TMP/run.yaml")  # 79 steps an epoch, 158 in all; each run in runs/NAME

# on_terminal NAME COMMAND...: runs COMMAND (training into runs/NAME) in a pseudo-terminal COLS wide, its
# output (as the terminal got it) in $TMP/NAME.out.
on_terminal() {
  local name=$1
  shift
  local command
  printf -v command '%q ' "$@" --set "train.output_dir=runs/$name"
  (cd "$TMP" && env -u COLUMNS timeout 300 script -qec "stty cols $COLS; $command" /dev/null </dev/null \
    >"$TMP/$name.out" 2>&1)
}

# check_bar NAME: the output's redrawn pieces (between \r and \r or \n) that are not log lines are the bar:
# there are several, with a percentage and step/total, the last 100% 158/158, none COLS or more wide; and
# a log line never starts in the middle of a piece (after the bar).
check_bar() {
  python3 - "$TMP/$1.out" "$COLS" <<'PY'
import re, sys
out, cols = open(sys.argv[1], "rb").read().decode(), int(sys.argv[2])
log = re.compile(r"\[\d\d:\d\d:\d\d rank \d+\] ")
pieces = [p.replace("\x1b[K", "") for line in out.split("\n") for p in line.split("\r")]
bars = [p for p in pieces if p and not log.match(p) and not p.startswith("+ mpirun")]
problems = []
if out.count("\r\x1b[K") < 3: problems.append("not redrawn in place (\\r and erase-line)")
if not any(re.search(r"\d+% +\d+/158", b) for b in bars): problems.append("no bar with a percentage and step/158")
if not bars or not re.search(r"100% 158/158", bars[-1]): problems.append("the last bar is not at 100% 158/158")
problems += ["a bar piece %d >= %d columns wide: %r" % (len(b), cols, b) for b in bars if len(b) >= cols]
problems += ["a log line after other text: %r" % p for p in pieces if log.search(p) and not log.match(p)]
print("\n".join(problems) if problems else "%d bar pieces, the widest %d columns" % (len(bars), max(map(len, bars))))
sys.exit(1 if problems else 0)
PY
}

# live NAME COMMAND...: trains on the terminal; the bar is as check_bar says.
live() {
  local name=$1
  shift
  if ! on_terminal "$name" "$@"; then
    fail "$name: training on a terminal" "$TMP/$name.out"
  elif ! check_bar "$name" >"$TMP/$name.check"; then
    fail "$name: the live bar on a $COLS-column terminal: $(tr '\n' ';' <"$TMP/$name.check")" "$TMP/$name.out"
  else
    pass "$name: the live bar on a $COLS-column terminal ($(cat "$TMP/$name.check"))"
  fi
}

# plain NAME COMMAND...: trains with its output in a file: plain log lines every 50 steps, no redraws.
plain() {
  local name=$1
  shift
  if ! (cd "$TMP" && timeout 300 "$@" --set "train.output_dir=runs/$name" >"$TMP/$name.out" 2>&1); then
    fail "$name: training into a file" "$TMP/$name.out"
  elif grep -q $'\r' "$TMP/$name.out"; then
    fail "$name: a carriage return (a bar redraw) in the file" "$TMP/$name.out"
  elif ! grep -q "step 50/158  loss" "$TMP/$name.out" || ! grep -q "step 158/158  loss" "$TMP/$name.out"; then
    fail "$name: no plain progress lines (step 50/158, step 158/158) in the file" "$TMP/$name.out"
  else
    pass "$name: plain lines in a file, no redraws"
  fi
}

MPIRUN=(mpirun --bind-to none --oversubscribe -np 2)
live single "$ECTRAIN" "${TRAIN[@]}"
live threads "$ECTRAIN" "${TRAIN[@]}" --ranks 2
live mpirun "${MPIRUN[@]}" "$ECTRAIN" "${TRAIN[@]}"
live launch_mpirun "$REPO/launch/mpirun.sh" -n 2 "${TRAIN[@]:1}"
plain single_file "$ECTRAIN" "${TRAIN[@]}"
plain mpirun_file "${MPIRUN[@]}" "$ECTRAIN" "${TRAIN[@]}"
plain launch_mpirun_file env ECTRAIN="$ECTRAIN" "$REPO/launch/mpirun.sh" -n 2 "${TRAIN[@]:1}"

# train.progress: lines on a terminal: the log lines, no bar.
on_terminal lines "$ECTRAIN" "${TRAIN[@]}" --set train.progress=lines
if grep -q "step 158/158  loss" "$TMP/lines.out" && ! grep -qE "[0-9]+% +[0-9]+/158" "$TMP/lines.out"; then
  pass "train.progress=lines on a terminal: plain lines, no bar"
else
  fail "train.progress=lines on a terminal: plain lines, no bar" "$TMP/lines.out"
fi

finish e2e_progress
