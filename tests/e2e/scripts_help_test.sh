#!/usr/bin/env bash
# The scripts around the program, and the program as installed: every launch/*.sh and
# slurm/*.sbatch answers --help and -h with its usage and status 0, running nothing else (no
# package, build, MPI or Slurm command); `ectrain --version` names the commit checked out, and
# the build writes that commit's source only when it changes; `cmake --install BUILD --prefix P`
# gives a P/bin/ectrain that runs with the libraries of the built one.
# Usage: tests/e2e/scripts_help_test.sh BUILD/src/ectrain   (BUILD: the build folder it came from)
set -u
ECTRAIN=$(realpath "${1:?usage: scripts_help_test.sh BUILD/src/ectrain}")
BUILD_DIR=$(dirname "$(dirname "$ECTRAIN")")
REPO=$(realpath "$(dirname "$0")/../..")
source "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1

# --- --help and -h: the usage, and nothing run ---
# Stand-ins for every command a script could install, build, train or submit with: each one
# called leaves its name in $RAN and fails.
STUBS="$TMP/stubs"
RAN="$TMP/ran"
mkdir -p "$STUBS"
for cmd in apt-get sudo dpkg-query cmake ctest make mpirun mpiexec srun sbatch scontrol; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 1\n' "$cmd" "$RAN" >"$STUBS/$cmd"
  chmod +x "$STUBS/$cmd"
done
for script in launch/*.sh slurm/*.sbatch; do
  for flag in --help -h; do
    : >"$RAN"
    expect_exit "$script $flag prints its usage and exits 0" 0 "^Usage: (sbatch )?$script( |\$)" -- \
      env PATH="$STUBS:$PATH" ECTRAIN="$TMP/no-program" bash "$script" "$flag"
    if [ -s "$RAN" ]; then
      fail "$script $flag runs nothing else; it ran: $(tr '\n' ';' <"$RAN")"
    fi
  done
done

# --- the commit in --version ---
top=$(git -C "$REPO" rev-parse --show-toplevel 2>/dev/null)
if [ -n "$top" ] && [ "$(realpath "$top")" = "$REPO" ]; then
  head=$(git -C "$REPO" rev-parse --short HEAD)
  expect_exit "ectrain --version names the commit checked out ($head)" 0 "\(commit $head(-dirty)?, " -- \
    "$ECTRAIN" --version
else
  echo "SKIP: ectrain --version names the commit checked out: $REPO is not a git checkout"
fi
# The generator itself: no commit outside a checkout; an unchanged commit leaves the file alone.
mkdir -p "$TMP/not-a-checkout"
gen() { cmake -DSOURCE_DIR="$1" -DGIT_EXECUTABLE="$(command -v git)" -DOUTPUT="$2" -P cmake/build_commit.cmake; }
if gen "$TMP/not-a-checkout" "$TMP/outside.cc" && grep -q 'kBuildCommit\[\] = "";' "$TMP/outside.cc"; then
  pass "outside a git checkout the build records no commit (so --version says unknown commit)"
else
  fail "outside a git checkout the build records no commit" "$TMP/outside.cc"
fi
if gen "$REPO" "$TMP/commit.cc" && touch -d 2000-01-01 "$TMP/commit.cc" && gen "$REPO" "$TMP/commit.cc" &&
    [ "$(stat -c %Y "$TMP/commit.cc")" = "$(date -d 2000-01-01 +%s)" ]; then
  pass "the commit source is not rewritten when the commit is unchanged (nothing relinks)"
else
  fail "the commit source is not rewritten when the commit is unchanged" "$TMP/commit.cc"
fi

# --- cmake --install ---
PREFIX="$TMP/prefix"
if cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 && [ -x "$PREFIX/bin/ectrain" ]; then
  pass "cmake --install $BUILD_DIR --prefix P installs P/bin/ectrain"
else
  fail "cmake --install $BUILD_DIR --prefix P installs P/bin/ectrain" "$TMP/install.log"
fi
expect_exit "the installed ectrain --version works" 0 \
  "^ectrain [0-9.]+ \((commit [0-9a-f]+(-dirty)?|unknown commit), matrix products: [A-Za-z]+, GPU backend: (none|CUDA [0-9.]+ \+ NCCL)\)$" -- \
  "$PREFIX/bin/ectrain" --version
libraries() { ldd "$1" | sed 's/ (0x[0-9a-f]*)$//' | sort; }
if [ -x "$PREFIX/bin/ectrain" ] && diff <(libraries "$ECTRAIN") <(libraries "$PREFIX/bin/ectrain") >"$TMP/ldd.diff"; then
  pass "the installed ectrain loads the same libraries as the built one (the serial OpenBLAS too)"
else
  fail "the installed ectrain loads the same libraries as the built one" "$TMP/ldd.diff"
fi

finish scripts_help_test
