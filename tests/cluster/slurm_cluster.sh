#!/usr/bin/env bash
# A real Slurm cluster on this one machine, for the cluster tests: a private munged, slurmctld and
# two slurmd daemons posing as the nodes n1 and n2 (both on localhost), all state, sockets, logs
# and pid files under DIR. Nothing is written to /etc except the munge key, created if missing.
# Runs as root on Debian 12; installs slurm-wlm and munge from Debian when they are missing.
#
# Usage: tests/cluster/slurm_cluster.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#        tests/cluster/slurm_cluster.sh stop DIR    # kills what start started, by pid file
# Environment: ECTRAIN_SLURM_PORT (default 6817): slurmctld's port; the nodes use the next two.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
ACTION=$1
DIR=$(realpath -m "$2")
CONF=$DIR/slurm.conf
NODES=(n1 n2)
PORT=${ECTRAIN_SLURM_PORT:-6817}

die() { echo "slurm_cluster: $*" >&2; exit 1; }

install_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "${missing[*]} missing; run as root to install them"
  # A fresh machine (or CI image) may have no package lists yet: fetch them only then.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq
  fi
  echo "slurm_cluster: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Kills the daemon whose pid file is $1 (if it still runs) and waits for it to go.
kill_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
}

stop() {
  for n in "${NODES[@]}"; do kill_pidfile "$DIR/slurmd-$n.pid"; done
  kill_pidfile "$DIR/slurmctld.pid"
  kill_pidfile "$DIR/munge/munged.pid"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd and the jobs run as root)"
  install_packages
  mkdir -p "$DIR"/{state,tmp,munge}
  # munged runs as the munge user; it wants its socket folder searchable by all, writable only by it.
  chmod 755 "$DIR"
  runuser -u munge -- test -x "$DIR" || die "the munge user cannot reach $DIR: make its parent folders searchable (chmod o+x)"
  chown munge:munge "$DIR/munge"
  chmod 755 "$DIR/munge"
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  # A munged of our own on a private socket: works whether or not the machine runs one already.
  local socket=$DIR/munge/munge.socket
  runuser -u munge -- /usr/sbin/munged --socket="$socket" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" ||
    die "munged did not start; see $DIR/munge/munged.log"

  local cpus mem_mb
  cpus=$(nproc)
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  {
    cat <<CONF
# Written by tests/cluster/slurm_cluster.sh: a test cluster on localhost, everything under $DIR.
ClusterName=ectrain-test
SlurmctldHost=localhost
SlurmctldPort=$PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
JobRequeue=1
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmdLogFile=$DIR/slurmd-%n.log
SlurmdSpoolDir=$DIR/spool/%n
# Both nodes are this machine: srun --mpi=pmix collides in a shared /tmp, so one TmpFS per node.
TmpFS=$DIR/tmp/%n
CONF
    local port=$PORT
    for n in "${NODES[@]}"; do
      port=$((port + 1))
      echo "NodeName=$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=$port CPUs=$cpus RealMemory=$mem_mb"
    done
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$CONF"
  for n in "${NODES[@]}"; do mkdir -p "$DIR/tmp/$n" "$DIR/spool/$n"; done

  /usr/sbin/slurmctld -c -f "$CONF" || die "slurmctld did not start; see $DIR/slurmctld.log"
  for n in "${NODES[@]}"; do
    /usr/sbin/slurmd -f "$CONF" -N "$n" || die "slurmd $n did not start; see $DIR/slurmd-$n.log"
  done
  export SLURM_CONF=$CONF
  for _ in $(seq 100); do
    [ "$(sinfo -h -N -o %T 2>/dev/null | sort -u)" = idle ] && { echo "slurm_cluster: nodes ${NODES[*]} idle; SLURM_CONF=$CONF"; return; }
    sleep 0.2
  done
  sinfo -N -l >&2 || true
  tail -5 "$DIR"/slurm*.log >&2 || true
  die "nodes not idle after 20 s"
}

case $ACTION in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
