#!/usr/bin/env bash
# Packs the Debian 12 packages that ectrain's build and runs need and the lent GPU machine lacks
# (an Ubuntu 24.04-like image with nvcc, CMake, ninja, g++ and PyTorch, but no MPI, HDF5, Eigen,
# yaml-cpp, CLI11, nlohmann-json, GoogleTest or xxHash, and no network), for
# tests/gpu/device_checks.sh to unpack there into a prefix. Run it on Debian 12 (apt-get download
# only: nothing is installed); see device_checks.sh's usage for the whole procedure.
#
# What is packed: the -dev packages launch/setup.sh installs, less build-essential and cmake (the
# GPU machine has them) and OpenBLAS (the GPU build uses -DECTRAIN_BLAS=eigen), plus the library
# closure of their runtime packages (Depends and Pre-Depends, first alternatives), pruned at
#   BASE:     packages whose libraries every Ubuntu 24.04 system has under the same sonames (glibc,
#             the GCC runtime, compression, what apt and coreutils link), and tools used only by
#             maintainer scripts, which dpkg -x never runs;
#   OPTIONAL: what only Open MPI's and hwloc's plugins for other interconnects, other hosts and
#             displays need (InfiniBand, OFI, UCX, PSM, ssh, X11, OpenCL): runs on one host never
#             load them (device_checks.sh silences their load errors).
# Then every ELF file of the pack is checked: each library it needs must be in the pack or in a
# BASE package (sonames read off this machine's copies), except for those plugins; and the newest
# glibc they ask for is written to OUT_DIR/GLIBC (2.36, for Debian 12's libevent: Ubuntu 24.04 has
# 2.39, 22.04 only 2.35), which device_checks.sh compares with the machine's.
#
# Usage: tests/gpu/pack_deps.sh [OUT_DIR]      (default tests/gpu/deps, git-ignored)
# Prints the packages, the check and the pack's size; exits 1 if a download or the check fails or
# the pack exceeds LIMIT_MIB (55: the device tool carries 64 MiB with the working tree).
set -u
case ${1:-} in -h | --help) sed -n '2,/^set -u/{/^#/{s/^# //; s/^#$//; p}}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/../.." || exit 1
OUT=${1:-tests/gpu/deps}
LIMIT_MIB=${LIMIT_MIB:-55}

DEV=(libopenmpi-dev libhdf5-dev libeigen3-dev libxxhash-dev libyaml-cpp-dev libgtest-dev libcli11-dev
     nlohmann-json3-dev libprotobuf-dev protobuf-compiler libonnx-dev)
RUNTIME=(openmpi-bin openmpi-common libopenmpi3 libhdf5-103-1 libyaml-cpp0.7 libxxhash0 libprotobuf32 libprotoc32
         libonnx1)
BASE=(libc6 libgcc-s1 libstdc++6 gcc-12-base zlib1g libzstd1 liblzma5 libbz2-1.0 libcrypt1 libselinux1
      libpcre2-8-0 libacl1 libattr1 libaudit1 libaudit-common libcap-ng0 libcap2 libgmp10 libhogweed6
      libnettle8 libgnutls30 libidn2-0 libunistring2 libp11-kit0 libtasn1-6 libffi8 libmd0 libtinfo6
      libsystemd0 libudev1 liblz4-1 libgcrypt20 libgpg-error0 libseccomp2 libuuid1 libdb5.3
      debconf cdebconf dpkg tar adduser passwd install-info libdebian-installer4 libnewt0.52 libslang2
      libtextwrap1 readline-common libreadline8 libpam0g libpam-modules libpam-modules-bin libsemanage2
      libsemanage-common libsepol2 perl-base sensible-utils ucf lsb-base init-system-helpers)
OPTIONAL=(libfabric1 libucx0 libpsm2-2 libpsm-infinipath1 libibverbs1 ibverbs-providers librdmacm1
          libnl-3-200 libnl-route-3-200 libnuma1 libhwloc-plugins openssh-client ocl-icd-libopencl1)

die() { echo "pack_deps: $*" >&2; exit 1; }
in_list() { local x=$1; shift; local y; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

# deps PKG...: their Depends and Pre-Depends, the first of each group of alternatives, virtual ones
# skipped (one apt-cache call: each reads apt's whole cache, about a second).
deps() {
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" |
    awk '/^ *\|?(Pre)?Depends:/ { alt = prev_or; prev_or = ($1 ~ /^\|/); if (!alt) { sub(/:any$/, "", $2); print $2 } }' |
    grep -v '^<' | sort -u
}

# The closure of RUNTIME, pruned at BASE and OPTIONAL (breadth first, a level per apt-cache call).
closure() {
  local level=("${RUNTIME[@]}") seen=() next d
  while [ ${#level[@]} -gt 0 ]; do
    seen+=("${level[@]}")
    next=()
    for d in $(deps "${level[@]}"); do
      in_list "$d" "${BASE[@]}" "${OPTIONAL[@]}" "${seen[@]}" || next+=("$d")
    done
    level=("${next[@]}")
  done
  printf '%s\n' "${seen[@]}"
}

mapfile -t PACKAGES < <({ printf '%s\n' "${DEV[@]}"; closure; } | sort -u)
echo "pack_deps: ${#PACKAGES[@]} packages: ${PACKAGES[*]}"

# Download what is missing; drop .debs of other packages or versions (an earlier pack's).
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
# Each package's candidate version (one apt-cache call); apt-get download names files
# NAME_VERSION_ARCH.deb with the version's ':' as %3a.
mapfile -t wanted < <(apt-cache policy "${PACKAGES[@]}" |
  awk '/^[^ ]/ { sub(/:$/, ""); p = $1 } /Candidate:/ { v = $2; gsub(/:/, "%3a", v); print p "_" v "_" }')
for i in "${!PACKAGES[@]}"; do
  case ${wanted[$i]:-} in
    "${PACKAGES[$i]}"_*_ ) [[ ${wanted[$i]} != *_\(none\)_ ]] || die "no candidate for ${PACKAGES[$i]} (run apt-get update)" ;;
    *) die "no package ${PACKAGES[$i]} in apt's lists (run apt-get update)" ;;
  esac
done
for f in "$OUT"/*.deb; do
  [ -e "$f" ] || continue
  keep=0
  for w in "${wanted[@]}"; do case $(basename "$f") in "$w"*) keep=1 ;; esac; done
  [ $keep = 1 ] || rm -f "$f"
done
missing=()
for i in "${!PACKAGES[@]}"; do
  compgen -G "$OUT/${wanted[$i]}*.deb" >/dev/null || missing+=("${PACKAGES[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$OUT" && apt-get download -q "${missing[@]}") >"$OUT/.download.log" 2>&1 ||
    { tail -20 "$OUT/.download.log" >&2; die "apt-get download failed"; }
fi
[ "$(ls "$OUT"/*.deb | wc -l)" -eq ${#PACKAGES[@]} ] || die "expected ${#PACKAGES[@]} .deb files in $OUT"
rm -f "$OUT/.download.log"
# The list device_checks.sh records beside its results.
for f in "$OUT"/*.deb; do dpkg-deb -f "$f" Package Version | paste -sd' '; done >"$OUT/MANIFEST"

# The check: every library an ELF file of the pack needs is in the pack or a BASE package.
TMP=$(mktemp -d /tmp/pack_deps.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
for f in "$OUT"/*.deb; do dpkg-deb -x "$f" "$TMP/root"; done
find "$TMP/root" -name '*.so*' -printf '%f\n' | sort -u >"$TMP/have"
for p in "${BASE[@]}"; do dpkg -L "$p" 2>/dev/null; done | grep -E '/[^/]+\.so(\.[0-9.]+)?$' |
  xargs -r -n1 basename | sort -u >>"$TMP/have"
bad=0
optional_unloadable=()
while IFS= read -r -d '' f; do
  [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  readelf -V "$f" 2>/dev/null | grep -oE 'GLIBC_[0-9]+\.[0-9]+' >>"$TMP/glibc"
  for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    grep -qxF "$lib" "$TMP/have" && continue
    case $f in
      */openmpi3/mca_* | */libmca_common_* | */pmix/* | */hwloc/*) optional_unloadable+=("$(basename "$f")") ;;
      *) echo "pack_deps: ${f#"$TMP/root"} needs $lib, which is neither packed nor in BASE" >&2; bad=1 ;;
    esac
  done
done < <(find "$TMP/root" -type f -print0)
[ $bad = 0 ] || die "the library check failed"
mapfile -t optional_unloadable < <(printf '%s\n' "${optional_unloadable[@]}" | sort -u)
echo "pack_deps: library check passed: every ELF file's libraries are packed or BASE, except these plugins" \
  "(interconnects and hosts a one-host run never uses): ${optional_unloadable[*]}"

# The newest glibc the pack's files ask for (Debian 12's libevent: 2.36): device_checks.sh
# compares it with the machine's before building.
sort -uV "$TMP/glibc" | tail -1 | sed 's/GLIBC_//' >"$OUT/GLIBC"
echo "pack_deps: the pack needs glibc >= $(cat "$OUT/GLIBC")"

mib=$(du -cb "$OUT"/*.deb | awk 'END { printf "%.1f", $1 / 1048576 }')
echo "pack_deps: $OUT: ${#PACKAGES[@]} .deb files, $mib MiB"
awk -v m="$mib" -v l="$LIMIT_MIB" 'BEGIN { exit !(m <= l) }' || die "the pack is $mib MiB, over LIMIT_MIB=$LIMIT_MIB"
