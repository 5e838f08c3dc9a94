#!/usr/bin/env bash
# The main job on the bundled data: install and build (launch/setup.sh), prepare the Online
# Shoppers data set, then train, evaluate and checkpoint the default model with 2 MPI ranks.
# Outputs: runs/quickstart/ (config.yaml, metrics.jsonl, test_predictions.csv, checkpoints/).
#
# Usage: launch/quickstart.sh [--set section.key=value ...]    (extra arguments go to `ectrain train`)
#        launch/quickstart.sh --help    (or -h: this text; installs, builds and trains nothing)
#
# Environment: ECTRAIN_BUILD_DIR (default build), and launch/setup.sh's ECTRAIN_ARCH and ECTRAIN_BLAS.
set -euo pipefail
# --help prints the comment above (without its '# ') and exits, before anything is installed or built.
case ${1:-} in -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
./launch/setup.sh
ECTRAIN=${ECTRAIN_BUILD_DIR:-build}/src/ectrain
CONFIG=configs/quickstart.yaml

PREPARED=datasets/online-shoppers-intention/prepared
if [ ! -f "$PREPARED/train.h5" ] || [ ! -f "$PREPARED/test.h5" ] ||
   [ "$PREPARED/train.h5" -ot datasets/online-shoppers-intention/online_shoppers_intention.csv ]; then
  "$ECTRAIN" prepare "$CONFIG"
fi

# Running as root needs Open MPI's consent; more ranks than cores need --oversubscribe.
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ctrl-C asks the ranks to checkpoint and stop (see launch/lib/mpirun.sh); run again to resume.
source launch/lib/mpirun.sh
terminal_progress  # on a terminal, the live progress bar there
run_mpirun -np 2 --oversubscribe --bind-to none "${MPIRUN_PROGRESS_ARGS[@]}" "$ECTRAIN" train "$CONFIG" \
  "${TRAIN_PROGRESS_ARGS[@]}" "$@"

cat <<MSG

Next: score a session with the trained model
  $ECTRAIN predict --checkpoint runs/quickstart/checkpoints --row "Administrative=2,Administrative_Duration=50,Informational=0,Informational_Duration=0,ProductRelated=30,ProductRelated_Duration=1200,BounceRates in %=0.01,ExitRates in %=0.02,PageValues=40,SpecialDay (probability)=0,Month=Nov,OperatingSystems=2,Browser=2,Region=1,TrafficType=2,VisitorType=Returning_Visitor,Weekend=FALSE"
MSG
