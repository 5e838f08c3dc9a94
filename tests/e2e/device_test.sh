#!/usr/bin/env bash
# End-to-end: the device path of the training loop (train.device), checked without a GPU on the
# simulated device (kernels/simulated_device.h: the CPU's kernels on memory that host code may not
# touch, so a missing copy faults). Its runs must give bitwise the CPU's checkpoint under mpirun
# and --ranks, with row-sparse tables, bags, dropout, layer norm and micro-batches; checkpoints
# move between devices (train on one, resume on the other); two_tower and mf train on it; asking
# for a GPU where none can be had is a clear error.
# Usage: tests/e2e/device_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: device_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"

"$ECTRAIN" generate --out "$TMP/data/train.h5" --rows 12000 --test-rows 1000 --seed 5 >"$TMP/gen.log" 2>&1 ||
  fail "generate data" "$TMP/gen.log"
read -r -a DATA <<<"$(sed -n 's/.*train on it with: //p' "$TMP/gen.log")"
COMMON=(configs/quickstart.yaml "${DATA[@]}" --set train.global_batch_size=256 --set train.epochs=2
        --set train.seed=7)

# run NAME DEVICE LAUNCH... -- SETTINGS...: trains into $TMP/NAME.
run() {
  local name=$1 device=$2
  shift 2
  local launch=()
  while [ "$1" != "--" ]; do launch+=("$1"); shift; done
  shift
  timeout 300 "${launch[@]}" "$ECTRAIN" train "${COMMON[@]}" --set "train.device=$device" \
    --set "train.output_dir=$TMP/$name" "$@" >"$TMP/$name.log" 2>&1 || fail "train $name" "$TMP/$name.log"
}
newest() { ls "$TMP/$1"/checkpoints/ckpt-*.h5 | tail -1; }
# same NAME A B: the newest checkpoints of runs A and B hold the same parameters and optimizer state.
same() {
  local a b
  a=$(newest "$2") b=$(newest "$3")
  if h5diff -r "$a" "$b" /params >"$TMP/diff.log" 2>&1 && h5diff -r "$a" "$b" /optimizer_state >>"$TMP/diff.log" 2>&1 &&
    cmp -s "$TMP/$2/test_predictions.csv" "$TMP/$3/test_predictions.csv"; then
    pass "$1"
  else
    fail "$1" "$TMP/diff.log"
  fi
}
MPI2=(mpirun --bind-to none -np 2)

run cpu2 cpu "${MPI2[@]}" -- --set model.type=dcn --set model.layer_norm=true --set model.dropout=0.1
run sim2 simulated "${MPI2[@]}" -- --set model.type=dcn --set model.layer_norm=true --set model.dropout=0.1
grep -q "row-sparse embedding tables [1-9]" "$TMP/cpu2.log" && pass "the data has row-sparse tables" ||
  fail "the data has row-sparse tables" "$TMP/cpu2.log"
grep -q "device: simulated" "$TMP/sim2.log" && pass "the start-up log names the device" ||
  fail "the start-up log names the device" "$TMP/sim2.log"
same "mpirun -np 2: simulated device = cpu, bit for bit (dcn, layer norm, dropout, bags)" cpu2 sim2

run threads2 simulated -- --ranks 2 --set model.type=dcn --set model.layer_norm=true --set model.dropout=0.1
same "--ranks 2 on the simulated device = mpirun on the cpu" cpu2 threads2

run cpu_micro cpu "${MPI2[@]}" -- --set model.type=wide_deep --set train.accumulation_steps=2
run sim_micro simulated "${MPI2[@]}" -- --set model.type=wide_deep --set train.accumulation_steps=2
same "micro-batches (train.accumulation_steps: 2) on the simulated device = cpu" cpu_micro sim_micro

# Checkpoints are the same files on every device: stop on one, finish on the other.
run cpu_whole cpu "${MPI2[@]}" --
for pair in "simulated cpu" "cpu simulated"; do
  read -r first second <<<"$pair"
  name="${first}_then_$second"
  run "$name" "$first" "${MPI2[@]}" -- --set train.max_steps=50
  run "$name" "$second" "${MPI2[@]}" --
  grep -q "resum" "$TMP/$name.log" && same "trained on $first, resumed on $second = all on cpu" cpu_whole "$name" ||
    fail "trained on $first, resumed on $second (no resume)" "$TMP/$name.log"
done

# Early stopping evaluates the best checkpoint, loaded onto the device.
run sim_best simulated "${MPI2[@]}" -- --set train.epochs=4 --set checkpoint.keep_best=log_loss \
  --set "data.validation=$TMP/data/test.h5" \
  --set eval.early_stopping_patience=1 --set optimizer.learning_rate=0.05
grep -q '"event":"done"' "$TMP/sim_best/metrics.jsonl" && pass "keep_best and early stopping on the simulated device" ||
  fail "keep_best and early stopping on the simulated device" "$TMP/sim_best.log"

# mf and two_tower have no deep part: the quickstart's config without model.hidden_units, which
# applies to neither.
grep -v "hidden_units" configs/quickstart.yaml >"$TMP/no_deep.yaml"
COMMON[0]=$TMP/no_deep.yaml
for type in mf two_tower; do
  fields=(--set model.user_field=user --set model.item_field=item)
  [ "$type" = two_tower ] && fields=(--set "model.user_fields=[user]")  # the item tower: every other field
  run "cpu_$type" cpu "${MPI2[@]}" -- --set "model.type=$type" "${fields[@]}"
  run "sim_$type" simulated "${MPI2[@]}" -- --set "model.type=$type" "${fields[@]}"
  same "$type on the simulated device = cpu" "cpu_$type" "sim_$type"
done

expect_exit "train.device: cuda where no GPU can be had is an error naming train.device" 2 \
  "train.device|GPU" -- env CUDA_VISIBLE_DEVICES= "$ECTRAIN" train "${COMMON[@]}" --set train.device=cuda \
  --set "train.output_dir=$TMP/no_gpu"
[ ! -e "$TMP/no_gpu/checkpoints" ] && pass "nothing written when the device cannot be had" ||
  fail "nothing written when the device cannot be had"

finish device
