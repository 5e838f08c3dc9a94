#!/usr/bin/env bash
# Trains with Open MPI's mpirun on this machine or on the hosts of a hostfile, with the flags
# ectrain wants, so that nobody has to remember them:
#
# Usage: launch/mpirun.sh [-n N] [--hostfile FILE] [--tcp CIDR] [--bind-to POLICY] CONFIG [--set k=v ...]
#
#   -n N             ranks (default: one per core here; with --hostfile, every slot it lists)
#   --hostfile FILE  Open MPI hostfile: one "HOST slots=K" line per host; mpirun starts the remote
#                    ranks over ssh (or the agent in OMPI_MCA_plm_rsh_agent)
#   --tcp CIDR       use only the interfaces in this subnet (for example 10.0.0.0/24) for both MPI
#                    traffic (btl_tcp_if_include) and Open MPI's own wiring (oob_tcp_if_include).
#                    Needed when hosts have several networks (docker0, a management net) that do not
#                    all reach each other; Open MPI otherwise may pick one and hang. Give a CIDR:
#                    interface names differ between hosts and fail in network namespaces.
#   --bind-to POLICY none (default), core, socket...: mpirun pins ranks to cores 0..n-1 by default,
#                    which collide when jobs share a machine; core is right on a machine of your own.
#   -h, --help       this text, and exit
#   Everything from CONFIG on goes to `ectrain train`.
# Environment: ECTRAIN, the program (default: build/src/ectrain in this checkout); any other
# mpirun setting as OMPI_MCA_<name>=<value> (for example OMPI_MCA_btl=tcp,self to try TCP on one host).
# Relative paths (CONFIG, the config's data and output) are relative to the working directory.
# More ranks than cores here adds --oversubscribe; as root, Open MPI's consent variables are set.
# Stop a run and keep its progress with SIGTERM, SIGINT (Ctrl-C) or SIGUSR1 to this script: it asks
# mpirun with SIGUSR1, which Open MPI forwards to every rank; rank 0 checkpoints and all exit 3 (this
# script too); run the same command again to resume. A second SIGTERM or Ctrl-C stops at once.
# (SIGTERM straight to mpirun would kill the ranks moments later, their checkpoint perhaps unfinished.)
set -euo pipefail

# --help prints the comment above (without its '# '); a usage error, its Usage line.
usage() {
  sed -n 's/^# Usage: /usage: /p' "$0" >&2
  exit 2
}
ranks=""
hostfile=""
cidr=""
bind_to=none
while [ $# -gt 0 ]; do
  case $1 in
    -n | -np) ranks=${2:?-n needs a number}; shift 2 ;;
    --hostfile) hostfile=${2:?--hostfile needs a file}; shift 2 ;;
    --tcp) cidr=${2:?--tcp needs a CIDR such as 10.0.0.0/24}; shift 2 ;;
    --bind-to) bind_to=${2:?--bind-to needs a policy}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;;
    -*) echo "mpirun.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
# Absolute, so that remote hosts find it too (same path on every host: a shared file system).
ECTRAIN=$(realpath -m "${ECTRAIN:-$(dirname "$0")/../build/src/ectrain}")
[ -x "$ECTRAIN" ] || { echo "mpirun.sh: no program at $ECTRAIN (run launch/setup.sh, or set ECTRAIN)" >&2; exit 2; }

if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
args=(--bind-to "$bind_to")
if [ -n "$hostfile" ]; then
  args+=(--hostfile "$hostfile")
else
  ranks=${ranks:-$(nproc)}
  [ "$ranks" -gt "$(nproc)" ] && args+=(--oversubscribe)
fi
[ -n "$ranks" ] && args+=(-n "$ranks")
if [ -n "$cidr" ]; then
  args+=(--mca btl_tcp_if_include "$cidr" --mca oob_tcp_if_include "$cidr")
fi
source "$(dirname "$0")/lib/mpirun.sh"
# On a terminal, the live progress bar there (before the user's --set, which may say otherwise).
terminal_progress
config=$1
shift
run_mpirun "${args[@]}" "${MPIRUN_PROGRESS_ARGS[@]}" "$ECTRAIN" train "$config" "${TRAIN_PROGRESS_ARGS[@]}" "$@"
