#!/usr/bin/env bash
# Weak scaling 1 -> 2 ranks across two "hosts": two network namespaces (nodeA 10.201.7.1, nodeB
# 10.201.7.2) joined by a veth pair, one rank on each, Open MPI over TCP on that link only; the
# link uncapped and capped with `tc tbf` (CAPS, default 1 Gbit/s and 100 Mbit/s, on both ends).
# For comparison the same job over shared memory (both ranks on the host, no namespaces).
# Model: the larger MLP of bench/engine_scaling.sh (13 dense + 3 categorical columns, 1024-512-256,
# 2.9 MB of gradients), per-rank batch 512; 2 ranks at global batch 1024 vs 1 rank at 512, with
# comm.bucket_mb=0 (all-reduce after backward) and 4 (the default, overlapped with backward).
# Also measures each link's gradient all-reduce time against its size (comm.bucket_mb=0, so the
# all-reduce is all exposed: sync_exposed_seconds / steps), with two more models: a 13-16-1 MLP
# (1 KB of gradients) and 2048-1024-512 (11 MB), at a per-rank batch of 8 (little compute).
# bench/cost_model.py fits latency and bandwidth to these points; POINTS=FILE writes every kept run
# to FILE as CSV for it.
# Configurations alternate round by round (reversed on even rounds); medians, and ratios as medians
# of per-round ratios. Needs root (ip netns, tc, unshare).
# Usage: bench/netns_scaling.sh [ROUNDS]   (default 3; after launch/setup.sh)
# Environment: POINTS (CSV output), CAPS ("1gbit 100mbit": tc rates; "" for none), MLP_ROWS (131072),
# BATCH (512 per rank), STEP_SECONDS (2.5: each run's step count is chosen for about this long a
# step loop, from rough per-model and per-link costs; at least 4 steps). About 3 minutes with the
# defaults on an idle 2-core machine (plus any wait for it to be idle, see below).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CAPS=${CAPS-1gbit 100mbit}
MLP_ROWS=${MLP_ROWS:-131072}
BATCH=${BATCH:-512}
STEP_SECONDS=${STEP_SECONDS:-2.5}
POINTS=${POINTS:-}
BUILD=${ECTRAIN_BUILD_DIR:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ "$(id -u)" -eq 0 ] || { echo "netns_scaling.sh: needs root (ip netns, tc, unshare)" >&2; exit 2; }
TMP=$(mktemp -d /tmp/ectrain_netnsbench.XXXXXX)
# Names carry the pid so that runs side by side do not collide; veth names have at most 15 chars.
NS_A=ectbench-a-$$
NS_B=ectbench-b-$$
VETH_A=ebA$$
VETH_B=ebB$$
CIDR=10.201.7.0/24
cleanup() {
  # Deleting a namespace kills nothing: stop what still runs in them first; the veth pair goes with them.
  for ns in "$NS_A" "$NS_B"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$TMP"
  [ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Others may be editing src/: build if the program is missing, retrying while the tree does not build.
for try in 1 2 3 4 5; do
  [ -x "$BUILD/src/ectrain" ] && break
  cmake --build "$BUILD" -j2 >"$TMP/build.log" 2>&1 && break
  echo "build failed (try $try), retrying in 60 s: $(grep -m1 -i error "$TMP/build.log")" >&2
  sleep 60
done
# A private copy (the same path on both "hosts"), so that a rebuild during the benchmark cannot
# change the program between rounds.
cp "$BUILD/src/ectrain" "$TMP/ectrain"
ECTRAIN=$TMP/ectrain

# The two hosts.
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B"
ip -n "$NS_A" addr add 10.201.7.1/24 dev "$VETH_A"
ip -n "$NS_B" addr add 10.201.7.2/24 dev "$VETH_B"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set "$VETH_A" up
ip -n "$NS_B" link set "$VETH_B" up
# mpirun's rsh agent, called as `agent HOST COMMAND...` in place of ssh.
cat >"$TMP/agent.sh" <<AGENT
#!/bin/sh
host=\$1
shift
case \$host in
  nodeA) ns=$NS_A ;;
  nodeB) ns=$NS_B ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$host; \$*"
AGENT
chmod +x "$TMP/agent.sh"
printf 'nodeA slots=1\nnodeB slots=1\n' >"$TMP/hostfile"
# shellcheck disable=SC2016  # $@ is for the inner sh
on_node_a() { ip netns exec "$NS_A" unshare --uts sh -c 'hostname nodeA; exec "$@"' sh "$@"; }
# set_link RATE: a tbf cap on both ends of the veth pair ("" removes it). The burst must hold a
# whole GSO segment (up to 64 KB) or tbf drops it; latency bounds the queue.
set_link() {
  local dev ns end
  for end in "$NS_A $VETH_A" "$NS_B $VETH_B"; do
    read -r ns dev <<<"$end"
    tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null || true
    [ -n "$1" ] && tc -n "$ns" qdisc add dev "$dev" root tbf rate "$1" burst 256kb latency 100ms
  done
  return 0
}
rate_bps() { awk -v r="$1" 'BEGIN { n = r + 0; u = tolower(substr(r, length(n "") + 1));
  m = (u ~ /^g/) ? 1e9 : (u ~ /^m/) ? 1e6 : (u ~ /^k/) ? 1e3 : 1; print n * m }'; }

# The larger MLP's data (as bench/engine_scaling.sh).
awk -v n="$MLP_ROWS" 'BEGIN { srand(11); printf "label"; for (j = 1; j <= 13; j++) printf ",d%d", j; print ",c1,c2,c3";
  for (i = 0; i < n; i++) { s = 0; for (j = 1; j <= 13; j++) { x[j] = rand() * 2 - 1; s += x[j] * (j % 3 - 1) }
    printf "%d", (rand() < 1 / (1 + exp(-s))); for (j = 1; j <= 13; j++) printf ",%.4f", x[j];
    printf ",a%d,b%d,c%d\n", int(rand() * 7), int(rand() * 50), int(rand() * 500) } }' >"$TMP/mlp.csv"
"$ECTRAIN" prepare --source "$TMP/mlp.csv" --label label --dense d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13 \
  --categorical c1,c2,c3 --train-out "$TMP/train.h5" --test-out "$TMP/test.h5" --test-fraction 0.01 >/dev/null

DATA=(configs/quickstart.yaml --set "data.train=$TMP/train.h5" --set "data.test=$TMP/test.h5" --set data.label=label
  --set 'data.dense=[d1,d2,d3,d4,d5,d6,d7,d8,d9,d10,d11,d12,d13]' --set model.embedding_dim=16 --set train.epochs=1000
  --set eval.every_epochs=0 --set checkpoint.every_steps=0)
# model name -> hidden units, categorical columns; for choosing step counts only, rough compute
# seconds per row and per step (the optimizer step: about 3.5 ns per parameter) on 1 rank here,
# and gradient bytes.
declare -A HIDDEN=([mid]="[1024,512,256]" [tiny]="[16]" [big]="[2048,1024,512]")
declare -A CATEG=([mid]="[c1,c2,c3]" [tiny]="[]" [big]="[c1,c2,c3]")
declare -A ROW_S=([mid]=4.7e-5 [tiny]=1e-6 [big]=1.6e-4)
declare -A STEP_S=([mid]=2e-3 [tiny]=5e-6 [big]=1e-2)
declare -A BYTES=([mid]=2.9e6 [tiny]=1e3 [big]=1.13e7)

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

# link name -> tc rate ("" uncapped); shm runs on the host.
LINKS=(shm veth)
declare -A RATE=([shm]="" [veth]="")
for cap in $CAPS; do LINKS+=("veth-$cap"); RATE[veth-$cap]=$cap; done
# r1pair: two independent 1-rank jobs at once (no communication), the compute of 2 ranks sharing
# this machine's cores, caches and memory.
CONFIGS=("r1 mid 1 $BATCH 4" "r1pair mid 1 $BATCH 4")
for link in "${LINKS[@]}"; do
  CONFIGS+=("$link mid 2 $BATCH 0" "$link mid 2 $BATCH 4" "$link tiny 2 8 0" "$link big 2 8 0")
done
[ -n "$POINTS" ] && echo "link,ranks,model,hidden,per_rank_batch,bucket_mb,round,steps,train_seconds,sync_exposed_seconds,sync_bytes_per_step,samples_per_second,foreign_load" >"$POINTS"

pair() {  # pair COMMAND... --set train.output_dir=DIR: COMMAND twice at once, the second into DIR.b
  local dir=${*: -1} rc=0 p
  "${@:1:$#-1}" "${dir}.b" >"${dir#train.output_dir=}.b.log" 2>&1 &
  p=$!
  "$@" || rc=$?
  wait "$p" || rc=$?
  return $rc
}

run() {  # run ROUND LINK MODEL RANKS PER_RANK_BATCH BUCKET
  local round=$1 link=$2 model=$3 ranks=$4 batch=$5 bucket=$6 dir try steps launch=() name
  name="${link}_${model}_${ranks}_${bucket}"
  # Steps for about STEP_SECONDS: compute per step from the model, all-reduce from the link's rate
  # (shared memory and uncapped veth: taken as 2 GB/s).
  local bps
  bps=$([ -n "${RATE[$link]:-}" ] && rate_bps "${RATE[$link]}" || echo 1.6e10)
  steps=$(awk -v s="$STEP_SECONDS" -v c="${ROW_S[$model]}" -v f="${STEP_S[$model]}" -v b="$batch" -v g="${BYTES[$model]}" \
    -v r="$bps" -v n="$ranks" 'BEGIN { t = c * b + f + (n > 1 ? g * 8 / r + 1e-4 : 0); k = int(s / t); print k < 4 ? 4 : (k > 2000 ? 2000 : k) }')
  # shellcheck disable=SC2054  # "tcp,self" is one argument
  case $link in
    r1 | shm) launch=(timeout 300 mpirun -np "$ranks" --bind-to none) ;;
    r1pair) launch=(pair timeout 300 mpirun -np 1 --bind-to none) ;;
    *) launch=(on_node_a timeout 300 mpirun --hostfile "$TMP/hostfile" -np 2 --bind-to none --mca plm_rsh_agent "$TMP/agent.sh"
         --mca btl tcp,self --mca btl_tcp_if_include "$CIDR" --mca oob_tcp_if_include "$CIDR") ;;
  esac
  [[ $link = r1* ]] || set_link "${RATE[$link]:-}"
  for try in $(seq "$TRIES"); do
    dir="$TMP/${name}_${round}_$try"
    measured "${launch[@]}" "$ECTRAIN" train "${DATA[@]}" --set "data.categorical=${CATEG[$model]}" \
      --set "model.hidden_units=${HIDDEN[$model]}" --set comm.sparse_embeddings=false \
      --set train.global_batch_size=$((batch * ranks)) --set comm.bucket_mb="$bucket" --set train.max_steps="$steps" \
      --set "train.output_dir=$dir" >"$dir.log" 2>&1 || { tail -30 "$dir.log"; exit 1; }
    awk -v f="$FOREIGN" -v l="$NOISE_LIMIT" 'BEGIN { exit !(f <= l) }' && break
    [ "$try" -lt "$TRIES" ] && REPEATS=$((REPEATS + 1))
  done
  local m=$dir/metrics.jsonl
  [[ $link = r1* ]] || grep -q '"world_size":2' "$m" || { echo "not 2 ranks: $dir" >&2; exit 1; }
  # A pair: the mean of its two jobs (their done lines, one after the other, as one file).
  if [ "$link" = r1pair ]; then
    awk '/"event":"done"/' "$dir/metrics.jsonl" "$dir.b/metrics.jsonl" >"$dir/both.jsonl"
    m=$dir/mean.jsonl
    echo "{\"event\":\"done\",$(for k in samples_per_second train_seconds sync_exposed_seconds sync_bytes_per_step steps; do
      printf '"%s":%s,' "$k" "$(sed -E "s/.*\"$k\":([0-9.e+-]+).*/\1/" "$dir/both.jsonl" | awk '{ s += $1 } END { print s / NR }')"; done)\"x\":0}" >"$m"
  fi
  # round samples/s step_s exposed_s_per_step bytes foreign
  echo "$round $(field "$m" samples_per_second) $(awk -v t="$(field "$m" train_seconds)" -v s="$(field "$m" steps)" \
    -v e="$(field "$m" sync_exposed_seconds)" 'BEGIN { printf "%.6f %.6f", t / s, e / s }') $(field "$m" sync_bytes_per_step) $FOREIGN" \
    >>"$TMP/$name.txt"
  [ -n "$POINTS" ] && echo "$link,$ranks,$model,\"${HIDDEN[$model]}\",$batch,$bucket,$round,$(field "$m" steps),$(field "$m" train_seconds)," \
    "$(field "$m" sync_exposed_seconds),$(field "$m" sync_bytes_per_step),$(field "$m" samples_per_second),$FOREIGN" | tr -d ' ' >>"$POINTS"
  return 0
}

# Check the plumbing once: one rank on each host.
on_node_a timeout 30 mpirun --hostfile "$TMP/hostfile" -np 2 --mca plm_rsh_agent "$TMP/agent.sh" \
  --mca btl_tcp_if_include "$CIDR" --mca oob_tcp_if_include "$CIDR" hostname 2>&1 | sort | tr '\n' ' ' >"$TMP/hosts"
[ "$(cat "$TMP/hosts")" = "nodeA nodeB " ] || { echo "two-host mpirun failed: $(cat "$TMP/hosts")" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  order=$(seq 0 $((${#CONFIGS[@]} - 1)))
  [ $((round % 2)) -eq 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    # shellcheck disable=SC2086  # word splitting of the configuration line is intended
    run "$round" ${CONFIGS[$i]}
  done
done
set_link ""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

col() { cut -d' ' -f"$2" "$TMP/$1.txt" | median; }
ratio() { join <(cut -d' ' -f1,2 "$TMP/$1.txt" | sort) <(cut -d' ' -f1,2 "$TMP/$2.txt" | sort) | awk '{ print $3 / $2 }' | median; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r);" \
  "Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$'); two network namespaces joined by veth (TCP, btl tcp,self), tc tbf caps on both ends; $(date -u +%F)"
echo "program: $(git describe --always --dirty 2>/dev/null || echo unknown); rounds: $ROUNDS (medians); load average before/after: $load_before / $load_after"
echo "foreign load (CPU used by other processes during a run, share of the machine): median $(cat "$TMP"/*.txt | cut -d' ' -f6 | median)," \
  "max of kept runs $(cat "$TMP"/*.txt | cut -d' ' -f6 | sort -g | tail -1); runs repeated for foreign load > $NOISE_LIMIT: $REPEATS; waited for a quiet machine: $WAITED s"
echo
echo "Weak scaling, MLP 1024-512-256 ($(col "shm_mid_2_0" 5) gradient bytes per step), per-rank batch $BATCH: 1 rank $(printf '%.0f' "$(col r1_mid_1_4 2)") samples/s" \
  "(step $(awk -v s="$(col r1_mid_1_4 3)" 'BEGIN { printf "%.1f", s * 1000 }') ms)"
echo "Two independent 1-rank jobs at once (no communication): $(printf '%.0f' "$(col r1pair_mid_1_4 2)") samples/s per job" \
  "(step $(awk -v s="$(col r1pair_mid_1_4 3)" 'BEGIN { printf "%.1f", s * 1000 }') ms), so 2 ranks on this machine can reach at most" \
  "$(printf '%.2f' "$(ratio r1_mid_1_4 r1pair_mid_1_4 | awk '{ print $1 * 2 }')") x 1 rank (median of per-round ratios)"
echo
echo "| link | 2 ranks, bucket_mb 0: samples/s | step (ms) | exposed sync (ms/step) | 2 / 1 rank | 2 ranks, bucket_mb 4: samples/s | step (ms) | exposed sync (ms/step) | 2 / 1 rank |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for link in "${LINKS[@]}"; do
  label=$link
  [ "$link" = shm ] && label="shared memory (1 host)"
  [ "$link" = veth ] && label="veth, uncapped (2 hosts)"
  [ -n "${RATE[$link]:-}" ] && label="veth, tbf ${RATE[$link]} (2 hosts)"
  row="| $label"
  for bucket in 0 4; do
    n="${link}_mid_2_$bucket"
    row+=$(printf ' | %.0f | %.1f | %.1f | %.2f' "$(col "$n" 2)" "$(awk -v s="$(col "$n" 3)" 'BEGIN { print s * 1000 }')" \
      "$(awk -v s="$(col "$n" 4)" 'BEGIN { print s * 1000 }')" "$(ratio r1_mid_1_4 "$n")")
  done
  echo "$row |"
done
echo
echo "Gradient all-reduce time per step by size (2 ranks, bucket_mb 0; exposed sync / steps; medians):"
echo
echo "| link | $(for m in tiny mid big; do printf '%s B | ' "$(col "shm_${m}_2_0" 5)"; done)effective rate at the largest (Gbit/s) |"
echo "| --- | --- | --- | --- | --- |"
for link in "${LINKS[@]}"; do
  row="| $link"
  for m in tiny mid big; do row+=$(printf ' | %.3f ms' "$(awk -v s="$(col "${link}_${m}_2_0" 4)" 'BEGIN { print s * 1000 }')"); done
  # A 2-rank ring sends (and receives) the whole gradient once per rank: bytes / time.
  row+=$(printf ' | %.2f' "$(awk -v b="$(col "${link}_big_2_0" 5)" -v s="$(col "${link}_big_2_0" 4)" 'BEGIN { print b * 8 / s / 1e9 }')")
  echo "$row |"
done
echo
echo "per run (round: samples/s, step ms, exposed ms/step, foreign load):"
for c in "${CONFIGS[@]}"; do
  read -r link model ranks batch bucket <<<"$c"
  n="${link}_${model}_${ranks}_${bucket}"
  echo "  $n: $(awk '{ printf "%s: %.0f %.2f %.2f %.2f; ", $1, $2, $3 * 1000, $4 * 1000, $6 }' "$TMP/$n.txt")"
done
[ -z "$POINTS" ] || echo "points: $POINTS"
