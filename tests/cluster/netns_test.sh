#!/usr/bin/env bash
# launch/mpirun.sh across two hosts, simulated on this machine: two network namespaces joined by a
# veth pair (10.201.0.1 and 10.201.0.2, addresses that exist only inside them), each entered under
# its own hostname (nodeA, nodeB). mpirun runs in nodeA and starts nodeB's daemon through an rsh
# agent script in place of ssh; all MPI traffic must cross the veth link.
# Checks: an MPI job's ranks report the two hostnames; the quickstart trains across them with
# test AUC >= 0.90, and its gradient all-reduce went over the link.
# Usage: tests/cluster/netns_test.sh path/to/ectrain   (as root, from the top of the repository)
set -uo pipefail
ECTRAIN=$(realpath "${1:?usage: netns_test.sh path/to/ectrain}")
export ECTRAIN OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TMP=$(mktemp -d /tmp/ectrain_netns.XXXXXX)
# Names carry the pid so that runs side by side do not collide; veth names have at most 15 chars.
NS_A=ectrain-a-$$
NS_B=ectrain-b-$$
VETH_A=ectA$$
VETH_B=ectB$$
CIDR=10.201.0.0/24
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -25; }
finish() {
  echo "$passed passed, $failed failed"
  exit $((failed > 0))
}
cleanup() {
  # Deleting a namespace kills nothing, so stop what still runs in them first; the veth pair goes
  # with the namespaces.
  for ns in "$NS_A" "$NS_B"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# on_node_a COMMAND...: runs COMMAND as host nodeA (its namespace and hostname), where mpirun starts.
on_node_a() {
  # shellcheck disable=SC2016  # $@ is for the inner sh
  ip netns exec "$NS_A" unshare --uts sh -c 'hostname nodeA; exec "$@"' sh "$@"
}

if [ "$(id -u)" -ne 0 ]; then
  fail "the network-namespace test needs root (ip netns, unshare)"
  finish
fi
if ! { ip netns add "$NS_A" && ip netns add "$NS_B" &&
       ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B" &&
       ip -n "$NS_A" addr add 10.201.0.1/24 dev "$VETH_A" && ip -n "$NS_B" addr add 10.201.0.2/24 dev "$VETH_B" &&
       ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up &&
       ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up; } >"$TMP/setup.log" 2>&1; then
  fail "two network namespaces joined by a veth pair" "$TMP/setup.log"
  finish
fi
pass "two hosts: nodeA (10.201.0.1) and nodeB (10.201.0.2) in network namespaces"

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
export OMPI_MCA_plm_rsh_agent=$TMP/agent.sh

# First the plumbing alone: one rank per host, each printing its hostname.
on_node_a timeout 30 mpirun --hostfile "$TMP/hostfile" -n 2 --bind-to none \
  --mca btl_tcp_if_include "$CIDR" --mca oob_tcp_if_include "$CIDR" hostname >"$TMP/hostname.log" 2>&1
if [ "$(sort "$TMP/hostname.log" | tr '\n' ' ')" = "nodeA nodeB " ]; then
  pass "mpirun -n 2 runs one rank on nodeA and one on nodeB"
else
  fail "mpirun -n 2 runs one rank on nodeA and one on nodeB" "$TMP/hostname.log"
fi

DATA=$TMP/data
if ! "$ECTRAIN" prepare configs/quickstart.yaml --set "data.train=$DATA/train.h5" --set "data.test=$DATA/test.h5" \
     >"$TMP/prepare.log" 2>&1; then
  fail "prepare the quickstart data" "$TMP/prepare.log"
  finish
fi
rx_bytes() { ip -n "$NS_B" -s -j link show "$VETH_B" | grep -oE '"rx":\{"bytes":[0-9]+' | grep -oE '[0-9]+$'; }
rx_before=$(rx_bytes)
RUN=$TMP/run
if on_node_a timeout 90 launch/mpirun.sh --hostfile "$TMP/hostfile" -n 2 --tcp "$CIDR" \
     configs/quickstart.yaml --set "data.train=$DATA/train.h5" --set "data.test=$DATA/test.h5" \
     --set "train.output_dir=$RUN" >"$TMP/train.log" 2>&1; then
  pass "launch/mpirun.sh --hostfile --tcp $CIDR -n 2: the quickstart trains across nodeA and nodeB"
else
  fail "launch/mpirun.sh --hostfile --tcp $CIDR -n 2: the quickstart trains across nodeA and nodeB" "$TMP/train.log"
fi
auc=$(grep '"event":"done"' "$RUN/metrics.jsonl" 2>/dev/null | sed -E 's/.*"test":\{[^}]*"auc":([0-9.]+).*/\1/')
if grep -q '"world_size":2' "$RUN/metrics.jsonl" 2>/dev/null && awk -v a="${auc:-0}" 'BEGIN { exit !(a >= 0.90) }'; then
  pass "2 ranks, test AUC $auc >= 0.90"
else
  fail "2 ranks, test AUC '$auc' >= 0.90" "$TMP/train.log"
fi
# Ranks on two hosts share no memory: collectives are MPI messages, not the host segment.
if grep -q "ranks 2 (mpi) " "$TMP/train.log"; then
  pass "ranks on two hosts communicate by MPI messages (no shared-memory segment)"
else
  fail "ranks on two hosts communicate by MPI messages (no shared-memory segment)" "$TMP/train.log"
fi
# 3060 all-reduces of 6977 floats: about 85 MB each way; anything under 10 MB means it went elsewhere.
rx_mb=$(( ($(rx_bytes) - rx_before) / 1000000 ))
if [ "$rx_mb" -ge 10 ]; then
  pass "the gradients crossed the veth link (nodeB received $rx_mb MB)"
else
  fail "the gradients crossed the veth link (nodeB received only $rx_mb MB)"
fi

finish
