#!/usr/bin/env bash
# Installs what ectrain needs from Debian's packages (when missing), then configures and builds
# it in build/ (incrementally). Safe to run again: it skips what is already installed and built.
# Environment: ECTRAIN_BUILD_DIR (default build), ECTRAIN_ARCH (default native: -march for this CPU),
# ECTRAIN_BLAS (default openblas: matrix products by Debian's serial OpenBLAS; eigen: Eigen's own).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libeigen3-dev libopenblas-serial-dev
          libyaml-cpp-dev libgtest-dev libcli11-dev nlohmann-json3-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${ECTRAIN_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DECTRAIN_ARCH="${ECTRAIN_ARCH:-native}" \
  -DECTRAIN_BLAS="${ECTRAIN_BLAS:-openblas}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" -- --no-print-directory | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -x "$BUILD_DIR/src/ectrain"
echo "setup: built $BUILD_DIR/src/ectrain"
