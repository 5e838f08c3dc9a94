#!/usr/bin/env bash
# Installs what ectrain needs from Debian's packages (when missing, with sudo unless root), then
# configures and builds it in build/ (incrementally), and says how to put it on PATH. Safe to run
# again: it skips what is already installed and built.
#
# Usage: launch/setup.sh
#        launch/setup.sh --help     (or -h: this text; installs and builds nothing)
#
# Environment: ECTRAIN_BUILD_DIR (default build), ECTRAIN_ARCH (default native: -march for this CPU),
# ECTRAIN_BLAS (default openblas: matrix products by Debian's serial OpenBLAS; eigen: Eigen's own).
set -euo pipefail
# --help prints the comment above (without its '# ') and exits, before anything is installed or built.
case ${1:-} in -h | --help) sed -n '2,/^set -euo pipefail/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libeigen3-dev libopenblas-serial-dev libxxhash-dev
          libyaml-cpp-dev libgtest-dev libcli11-dev nlohmann-json3-dev libprotobuf-dev protobuf-compiler libonnx-dev)
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
build_dir=$(realpath "$BUILD_DIR")
echo "setup: built $build_dir/src/ectrain: $("$BUILD_DIR/src/ectrain" --version)"
cat <<MSG
setup: to run it as plain \`ectrain\`, install it where PATH looks:
  cmake --install $build_dir --prefix ~/.local   # ~/.local/bin/ectrain (Debian's ~/.profile puts ~/.local/bin on PATH at login)
or put the build folder on PATH (this shell only; add the line to ~/.bashrc to keep it):
  export PATH=$build_dir/src:\$PATH
MSG
