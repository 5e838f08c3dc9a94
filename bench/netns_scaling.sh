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
# defaults on an idle 2-core machine (plus any wait for it to be idle). Each run waits for a quiet
# machine and is repeated when other processes were busy during it (NOISE_LIMIT, TRIES, QUIET_WAIT:
# see bench/lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
CAPS=${CAPS-1gbit 100mbit}
MLP_ROWS=${MLP_ROWS:-131072}
BATCH=${BATCH:-512}
STEP_SECONDS=${STEP_SECONDS:-2.5}
POINTS=${POINTS:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ "$(id -u)" -eq 0 ] || { echo "netns_scaling.sh: needs root (ip netns, tc, unshare)" >&2; exit 2; }
# Names carry the pid so that runs side by side do not collide; veth names have at most 15 chars.
NS_A=ectbench-a-$$
NS_B=ectbench-b-$$
VETH_A=ebA$$
VETH_B=ebB$$
CIDR=10.201.7.0/24
on_exit() {  # before the library's clean-up (TMP, the cgroup)
  # Deleting a namespace kills nothing: stop what still runs in them first; the veth pair goes with them.
  for ns in "$NS_A" "$NS_B"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}
bench_tmp ectrain_netnsbench
trap 'exit 130' INT TERM
# ECTRAIN is under TMP: the same path on both "hosts".
private_ectrain
cpu_cgroup

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

mlp_data "$MLP_ROWS"  # the larger MLP's data (as bench/engine_scaling.sh)

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

run() {  # run ROUND "LINK MODEL RANKS PER_RANK_BATCH BUCKET"
  local round=$1 link model ranks batch bucket steps launch=() name
  read -r link model ranks batch bucket <<<"$2"
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
  train_measured "$TMP/${name}_$round" "${launch[@]}" "$ECTRAIN" train "${DATA[@]}" --set "data.categorical=${CATEG[$model]}" \
    --set "model.hidden_units=${HIDDEN[$model]}" --set comm.sparse_embeddings=false \
    --set train.global_batch_size=$((batch * ranks)) --set comm.bucket_mb="$bucket" --set train.max_steps="$steps"
  local dir=$RUN_DIR m=$RUN_DIR/metrics.jsonl
  [[ $link = r1* ]] || grep -q '"world_size":2' "$m" || { echo "not 2 ranks: $dir" >&2; exit 1; }
  # A pair: the mean of its two jobs.
  if [ "$link" = r1pair ]; then
    m=$dir/mean.jsonl
    pair_done "$dir" "$m"
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
in_rounds "$ROUNDS" run
set_link ""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r);" \
  "Open MPI $(mpirun --version | head -1 | grep -oE '[0-9.]+$'); two network namespaces joined by veth (TCP, btl tcp,self), tc tbf caps on both ends; $(date -u +%F)"
echo "program: $(git describe --always --dirty 2>/dev/null || echo unknown); rounds: $ROUNDS (medians); load average before/after: $load_before / $load_after"
foreign_summary 6 "$TMP"/*.txt
echo
echo "Weak scaling, MLP 1024-512-256 ($(col "shm_mid_2_0" 5) gradient bytes per step), per-rank batch $BATCH: 1 rank $(printf '%.0f' "$(col r1_mid_1_4 2)") samples/s" \
  "(step $(awk -v s="$(col r1_mid_1_4 3)" 'BEGIN { printf "%.1f", s * 1000 }') ms)"
echo "Two independent 1-rank jobs at once (no communication): $(printf '%.0f' "$(col r1pair_mid_1_4 2)") samples/s per job" \
  "(step $(awk -v s="$(col r1pair_mid_1_4 3)" 'BEGIN { printf "%.1f", s * 1000 }') ms), so 2 ranks on this machine can reach at most" \
  "$(printf '%.2f' "$(ratio r1pair_mid_1_4 r1_mid_1_4 | awk '{ print $1 * 2 }')") x 1 rank (median of per-round ratios)"
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
      "$(awk -v s="$(col "$n" 4)" 'BEGIN { print s * 1000 }')" "$(ratio "$n" r1_mid_1_4)")
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
