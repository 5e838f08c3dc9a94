#!/usr/bin/env bash
# ectrain's GPU checks, in one script for the lent GPU machine (one H100, 16 cores, an Ubuntu-like
# image with nvcc 13, CMake, ninja and PyTorch, but no MPI, HDF5, Eigen, yaml-cpp, CLI11,
# nlohmann-json, GoogleTest or xxHash, and no network): it unpacks the Debian packages
# tests/gpu/pack_deps.sh downloaded into a prefix, builds ectrain's CUDA build against it, runs the
# GPU tests, trains on cuda against cpu from one seed, moves checkpoints between them, and runs
# bench/gpu_throughput.sh with the time left. Every step logs to LOG_DIR/<step>.log and adds a line
# "PASS|FAIL|SKIP <step> (<seconds> s): <detail>" to LOG_DIR/summary.txt; each step has a timeout,
# all of them together a deadline; the exit status is 1 if any step failed.
#
# The next session, in this order:
#   1. Here (Debian 12, apt-get download works), from the top of the repository:
#        tests/gpu/pack_deps.sh                   # tests/gpu/deps/*.deb: 37 packages, 13.9 MiB
#      Optionally the dry run without a GPU (about 6 minutes on 2 cores; the GPU steps say SKIP):
#        tests/gpu/device_checks.sh /tmp/gpu_here --deadline 1800 --hide-system-deps
#   2. On the GPU machine: one call of the device tool's `run`, with
#        carry:     ["tests/gpu/deps"]
#        timeout_s: 600
#        command:   bash tests/gpu/device_checks.sh /tmp/gpu --results $OUT
#      (the script keeps to --deadline 560 s; its summary is the end of the output), then give_back
#      unless you rerun at once (a warm machine keeps /tmp/ectrain-gpu-build: a rerun rebuilds little).
#   3. Read summary.txt, bench.md and logs.tar.gz (every step's log) under the reply's files_at.
#      If bench.md's notes say runs did not fit the budget (torch.compile runs come last) and the
#      machine is still warm with device time left, a second call runs just those (data and build
#      are still in /tmp):
#        command:   ECTRAIN=/tmp/ectrain-gpu-build/ectrain-packed bench/gpu_throughput.sh --modes compile --budget 200 --out $OUT/bench_compile.md
#
# Usage: tests/gpu/device_checks.sh LOG_DIR [--deps DIR] [--prefix DIR] [--build DIR] [--jobs N]
#          [--deadline SECONDS] [--nccl auto|cuda|python|DIR] [--e2e-device cuda|simulated]
#          [--no-bench | --bench-cpu] [--results DIR] [--hide-system-deps]
#   --deps DIR          the .deb files (default tests/gpu/deps)
#   --prefix DIR        where they are unpacked (default /tmp/ectrain-gpu-prefix, made afresh)
#   --build DIR         the CUDA build (default /tmp/ectrain-gpu-build, kept: a rerun is incremental)
#   --deadline SECONDS  all steps together (default 560); each step gets at most what is left
#   --nccl              where NCCL is taken from: auto (the CUDA toolkit's, else Python's
#                       nvidia.nccl, as pip's nvidia-nccl-cu13 installs it), one of those, or a
#                       folder holding include/nccl.h and lib/libnccl.so*
#   --e2e-device        simulated: the end-to-end steps compare the simulated device with the cpu
#                       instead of cuda (checks their plumbing where there is no GPU)
#   --no-bench          no benchmark; --bench-cpu: bench/gpu_throughput.sh --device cpu --tiny
#                       (its plumbing, where there is no GPU)
#   --results DIR       at the end, copies summary.txt and bench.md there, and LOG_DIR as logs.tar.gz
#                       (the device tool brings back 8 files at most, 2 folders down)
#   --hide-system-deps  Debian only, as root: runs in a private mount namespace in which this
#                       machine's own copies of the packed packages (and of their relatives that
#                       launch/setup.sh installs) are hidden, so the build can only use the pack
set -u
ARGS=("$@")
usage() { sed -n '2,/^set -u/{/^#/{s/^# //; s/^#$//; p}}' "$0"; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in -h | --help) usage; exit 0 ;; esac
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LOG=$1
shift
DEPS=$REPO/tests/gpu/deps PREFIX=/tmp/ectrain-gpu-prefix BUILD=/tmp/ectrain-gpu-build JOBS=$(nproc)
DEADLINE=560 NCCL_FROM=auto E2E_DEVICE=cuda BENCH=gpu RESULTS="" HIDE=0
while [ $# -gt 0 ]; do
  case $1 in
    --deps) DEPS=$(realpath "$2"); shift ;;
    --prefix) PREFIX=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --deadline) DEADLINE=$2; shift ;;
    --nccl) NCCL_FROM=$2; shift ;;
    --e2e-device) E2E_DEVICE=$2; shift ;;
    --no-bench) BENCH=none ;;
    --bench-cpu) BENCH=cpu ;;
    --results) RESULTS=$2; shift ;;
    --hide-system-deps) HIDE=1 ;;
    *) echo "device_checks: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done

# --hide-system-deps: again, in a private mount namespace (the overlay is mounted there below).
if [ "$HIDE" = 1 ] && [ -z "${ECTRAIN_DEPS_HIDDEN:-}" ]; then
  exec unshare --mount --propagation private env ECTRAIN_DEPS_HIDDEN=1 bash "$0" "$LOG" "${ARGS[@]:1}"
fi

mkdir -p "$LOG"
LOG=$(realpath "$LOG")
rm -f "$LOG/summary.txt" "$LOG"/*.log
E2E=$BUILD/e2e  # the end-to-end runs' data and run folders
LOSS_RTOL=${LOSS_RTOL:-5e-3}
export REPO LOG DEPS PREFIX BUILD JOBS NCCL_FROM E2E_DEVICE E2E BENCH LOSS_RTOL
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
START=$SECONDS
declare -A STATUS

# ---- Steps: each runs in a child bash under `timeout`, its output in LOG/<name>.log; exit 0
# passes, 77 skips; the last line starting "DETAIL: " is the summary's detail.

run_step() {  # run_step NAME LIMIT FUNCTION [ARGS...]
  local name=$1 limit=$2 fn=$3 left t0=$SECONDS rc=0 detail status
  shift 3
  left=$((DEADLINE - (SECONDS - START) - 5))
  if [ "$left" -lt 10 ]; then
    record SKIP "$name" 0 "no time left of the $DEADLINE s deadline"
    return
  fi
  [ "$limit" -le "$left" ] || limit=$left
  echo "[$((SECONDS - START)) s] $name (at most $limit s)" >&2
  timeout -k 10 "$limit" bash -c "set -u; $(declare -f); $fn \"\$@\"" "$fn" "$@" >"$LOG/$name.log" 2>&1 || rc=$?
  detail=$(sed -n 's/^DETAIL: //p' "$LOG/$name.log" | tail -1)
  # A failure without a detail: the log's last line says most.
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || [ -n "$detail" ] || detail=$(grep -v '^\s*$' "$LOG/$name.log" | tail -1 | cut -c1-200)
  case $rc in
    0) status=PASS ;;
    77) status=SKIP ;;
    124 | 137) status=FAIL detail="timed out after $limit s${detail:+; $detail}" ;;
    *) status=FAIL detail="exit $rc${detail:+; $detail}" ;;
  esac
  record "$status" "$name" $((SECONDS - t0)) "$detail"
}
record() {  # record STATUS NAME SECONDS DETAIL
  STATUS[$2]=$1
  echo "$1 $2 ($3 s): $4" | tee -a "$LOG/summary.txt" >&2
}
# after STEP...: run the next step only if these passed; else record it as skipped.
after() {
  local s
  for s in "$@"; do [ "${STATUS[$s]:-}" = PASS ] || return 1; done
}
skip_after() { record SKIP "$1" 0 "needs $2, which did not pass"; }
detail() { echo "DETAIL: $*"; }

# ---- The toolchain and the pack.

find_nvcc() { command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; }; }
# find_nccl: "INCLUDE_DIR LIBRARY WHERE" of the NCCL to build against (NCCL_FROM, above).
find_nccl() {
  local root d lib
  root=$(dirname "$(dirname "$(readlink -f "$(find_nvcc)")")")
  nccl_in() {  # nccl_in DIR: DIR/include/nccl.h and a libnccl.so* in DIR/lib64 or DIR/lib
    lib=$(ls "$1"/lib64/libnccl.so* "$1"/lib/libnccl.so* 2>/dev/null | head -1)
    [ -f "$1/include/nccl.h" ] && [ -n "$lib" ] && echo "$1/include $lib"
  }
  case $NCCL_FROM in
    auto) nccl_in "$root" | sed 's/$/ cuda/' | grep . || NCCL_FROM=python find_nccl ;;
    cuda) nccl_in "$root" | sed 's/$/ cuda/' ;;
    python)
      d=$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null) && nccl_in "$d" | sed 's/$/ python/' ;;
    *) nccl_in "$NCCL_FROM" | sed 's/$/ dir/' ;;
  esac
}
# find_cublas: the folder of the cuBLAS that ectrain loads at its first matrix product (dlopen of
# libcublas.so.<major>): the CUDA toolkit's, else Python's nvidia.cublas (pip's nvidia-cublas).
find_cublas() {
  local root d
  root=$(dirname "$(dirname "$(readlink -f "$(find_nvcc)")")")
  for d in "$root/lib64" "$root/lib" "$root/targets/x86_64-linux/lib" \
    "$(python3 -c 'import nvidia.cublas as m; print(list(m.__path__)[0])' 2>/dev/null)/lib"; do
    compgen -G "$d/libcublas.so.[0-9]*" >/dev/null && { echo "$d"; return 0; }
  done
  return 1
}
# The environment of everything that runs the pack's programs and libraries: relocated Open MPI
# (OPAL_PREFIX; PMIx's plugins through PMIX_PREFIX), the pack's libraries first, NCCL's and
# cuBLAS's, and no complaints about Open MPI plugins for interconnects the pack leaves out
# (pack_deps.sh).
pack_env() {
  local usr=$PREFIX/usr lib=$PREFIX/usr/lib/x86_64-linux-gnu nccl_lib cublas
  [ "${OPAL_PREFIX:-}" != "$usr" ] || return 0  # set already (in this step's shell)
  nccl_lib=$(dirname "$(find_nccl | cut -d' ' -f2)")
  cublas=$(find_cublas)
  export OPAL_PREFIX=$usr PMIX_PREFIX=$lib/pmix2
  export LD_LIBRARY_PATH=$lib:$lib/openmpi/lib:$nccl_lib${cublas:+:$cublas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export OMPI_MCA_mca_base_component_show_load_errors=0 OMPI_MCA_btl_base_warn_component_unused=0
}

step_record() {
  local nvcc nccl h v f
  echo "== date, machine"; date -u; uname -a; grep PRETTY_NAME /etc/os-release; nproc; free -g | head -2
  echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "(no nvidia-smi)"
  nvcc=$(find_nvcc) || { echo "no nvcc on PATH or in /usr/local/cuda/bin"; detail "no nvcc"; return 1; }
  echo "== $nvcc --version"; "$nvcc" --version
  echo "== compilers and tools"; c++ --version | head -1; cmake --version | head -1
  command -v ninja >/dev/null && echo "ninja $(ninja --version)" || echo "no ninja: Unix Makefiles"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version() if torch.cuda.is_available() else "-")' 2>&1
  echo "== NCCL"
  nccl=$(find_nccl) || { echo "no NCCL (--nccl $NCCL_FROM)"; detail "no NCCL found (--nccl $NCCL_FROM)"; return 1; }
  read -r h f _ <<<"$nccl"
  v=$(awk '/#define NCCL_(MAJOR|MINOR|PATCH) / { printf "%s%s", sep, $3; sep = "." }' "$h/nccl.h")
  echo "nccl.h $v in $h; library $(readlink -f "$f")"
  echo "== cuBLAS (loaded at the first matrix product)"
  find_cublas || { echo "no libcublas.so.* in the CUDA toolkit or Python's nvidia.cublas"; detail "no cuBLAS found"; return 1; }
  echo "== the pack ($DEPS)"; cat "$DEPS/MANIFEST"
  gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
  detail "${gpu:-no GPU}; nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); NCCL $v ($(echo "$nccl" | cut -d' ' -f3): $(readlink -f "$f")); cuBLAS in $(find_cublas); $(c++ --version | head -1); $(cmake --version | head -1)"
}

# Unpacks every .deb with dpkg -x, or without dpkg with Python (a .deb is an ar archive holding data.tar.*).
step_unpack() {
  local f n=0
  [ -f "$DEPS/MANIFEST" ] || { detail "no pack in $DEPS: run tests/gpu/pack_deps.sh here first"; return 1; }
  # Debian 12's libraries need a glibc as new as the pack says (pack_deps.sh wrote it).
  local need have
  need=$(cat "$DEPS/GLIBC" 2>/dev/null) have=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
  if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
    detail "the pack's libraries need glibc >= $need; this machine has $have"
    return 1
  fi
  rm -rf "$PREFIX" && mkdir -p "$PREFIX"
  for f in "$DEPS"/*.deb; do
    if command -v dpkg >/dev/null && [ "${UNPACK_WITH:-dpkg}" = dpkg ]; then dpkg -x "$f" "$PREFIX" || return 1
    else python3 - "$f" "$PREFIX" <<'EOF' || return 1
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not an ar archive"
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])).extractall(sys.argv[2])
    pos += 60 + size + size % 2
EOF
    fi
    n=$((n + 1))
  done
  echo "unpacked $n packages into $PREFIX"
  detail "$n packages ($(du -sh "$PREFIX" | cut -f1) unpacked; they need glibc >= ${need:-?}, here $have) into $PREFIX with $(command -v dpkg >/dev/null && [ "${UNPACK_WITH:-dpkg}" = dpkg ] && echo "dpkg -x" || echo Python)"
}

step_configure() {
  local usr=$PREFIX/usr lib=$PREFIX/usr/lib/x86_64-linux-gnu inc nccl_lib gen=()
  pack_env
  read -r inc nccl_lib _ <<<"$(find_nccl)"
  command -v ninja >/dev/null && gen=(-G Ninja)
  # A build folder from another prefix or generator would mix old paths in: start it afresh.
  grep -qs "^CMAKE_PREFIX_PATH:[A-Z]*=$usr\$" "$BUILD/CMakeCache.txt" &&
    grep -qs "^CMAKE_HOME_DIRECTORY:INTERNAL=$REPO\$" "$BUILD/CMakeCache.txt" || rm -rf "$BUILD"
  cmake -S "$REPO" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DECTRAIN_CUDA=on -DECTRAIN_CUDA_ARCHITECTURES=90 -DECTRAIN_BLAS=eigen -DCMAKE_CUDA_COMPILER="$(find_nvcc)" \
    -DECTRAIN_NCCL_INCLUDE_DIR="$inc" -DECTRAIN_NCCL_LIBRARY="$nccl_lib" \
    -DCMAKE_PREFIX_PATH="$usr" -DHDF5_ROOT="$lib/hdf5/serial" \
    -DMPI_C_COMPILER="$usr/bin/mpicc.openmpi" -DMPI_CXX_COMPILER="$usr/bin/mpicxx.openmpi" \
    -DMPIEXEC_EXECUTABLE="$usr/bin/mpiexec.openmpi" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$lib:$lib/openmpi/lib" \
    -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$lib:$lib/openmpi/lib" || return 1
  detail "$(grep -m1 'GPU backend' "$LOG/configure.log" | sed 's/^-- //')"
}

# Every dependency CMake found must be the pack's, not a copy elsewhere on the machine.
step_deps_from_pack() {
  local k v bad=0 n=0
  for k in MPI_C_HEADER_DIR MPI_CXX_HEADER_DIR MPI_mpi_LIBRARY MPIEXEC_EXECUTABLE HDF5_C_INCLUDE_DIR \
    HDF5_hdf5_LIBRARY_RELEASE XXHASH_INCLUDE_DIR Eigen3_DIR yaml-cpp_DIR nlohmann_json_DIR CLI11_DIR GTest_DIR \
    Protobuf_PROTOC_EXECUTABLE Protobuf_LIBRARY_RELEASE ONNX_DIR; do
    v=$(sed -n "s/^$k:[A-Z]*=//p" "$BUILD/CMakeCache.txt")
    echo "$k = $v"
    n=$((n + 1))
    case $v in "$PREFIX"/*) ;; *) echo "  ^ not in the pack ($PREFIX)"; bad=1 ;; esac
  done
  [ $bad = 0 ] || { detail "some dependencies were found outside $PREFIX (see the log)"; return 1; }
  detail "all $n dependency paths in CMake's cache are under $PREFIX"
}

step_build() {
  local targets=(ectrain cuda_kernels_test comm_nccl_test comm_nccl_mpi_test)
  pack_env
  cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" || return 1
  detail "${targets[*]}; $("$BUILD/src/ectrain" --version)"
}

# The programs find every library, the pack's from the prefix, and the libraries ectrain loads
# when first used (NCCL, cuBLAS: dlopen by soname) are on the search path.
step_libraries() {
  local t lib dir found loaded=() bad=0
  pack_env
  for t in src/ectrain tests/cuda_kernels_test tests/comm_nccl_test tests/comm_nccl_mpi_test; do
    echo "== ldd $t"
    ldd "$BUILD/$t" | tee "$LOG/ldd_$(basename "$t").txt"
    grep -q "not found" "$LOG/ldd_$(basename "$t").txt" && { echo "  ^ missing libraries"; bad=1; }
  done
  for lib in libmpi.so libhdf5_serial.so libyaml-cpp.so libcurl.so; do
    grep -E "^\s$lib" "$LOG/ldd_ectrain.txt" | grep -q "=> $PREFIX/" || { echo "$lib is not the pack's"; bad=1; }
  done
  for lib in libnccl.so.2 "libcublas.so.$("$(find_nvcc)" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')"; do
    found=""
    for dir in ${LD_LIBRARY_PATH//:/ }; do [ -e "$dir/$lib" ] && { found=$dir/$lib; break; }; done
    [ -n "$found" ] || found=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    echo "dlopen($lib): ${found:-NOT FOUND}"
    [ -n "$found" ] && loaded+=("$lib: $found") || bad=1
  done
  [ $bad = 0 ] || { detail "libraries missing or not the pack's (see the log)"; return 1; }
  detail "no library missing; MPI, HDF5, yaml-cpp and curl from the pack; $(grep -oE 'libcudart[^ ]* => [^ ]*' "$LOG/ldd_ectrain.txt" | sed 's/ => /: /'); loaded when first used: ${loaded[*]}"
}

# Every test of the GPU test programs (found by their commands, so new tests are included).
step_gpu_tests() {
  local names regex rc=0 total failed skipped bad_skips
  pack_env
  cd "$BUILD" || return 1
  ctest --show-only=json-v1 >"$LOG/ctest.json" || return 1
  names=$(python3 - "$LOG/ctest.json" <<'EOF'
import json, os, re, sys
gpu = {"cuda_kernels_test", "comm_nccl_test", "comm_nccl_mpi_test"}
for t in json.load(open(sys.argv[1]))["tests"]:
    if any(os.path.basename(c) in gpu for c in t.get("command") or []):
        print(re.sub(r"([][.()*+?^$|\\])", r"\\\1", t["name"]))
EOF
)
  [ -n "$names" ] || { detail "no GPU tests registered (was the CUDA build configured?)"; return 1; }
  regex="^($(echo "$names" | paste -sd'|'))\$"
  ctest -R "$regex" -j 8 --timeout 120 --output-on-failure || rc=$?
  total=$(echo "$names" | wc -l)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed.*/\1/p' "$LOG/gpu_tests.log" | tail -1)
  skipped=$(grep -cE '^\s+[0-9]+ - .* \(Skipped\)$' "$LOG/gpu_tests.log")
  # With a GPU, a test may skip only for want of more GPUs than the machine has ("needs 2 visible
  # GPUs, found 1"); any other reason (no GPU found, say) fails the step.
  bad_skips=$(sed 's/\x1b\[[0-9;]*m//g' Testing/Temporary/LastTest.log | grep -oE 'SKIPPED: [^ ]+: .*' |
    awk '!(match($0, /needs [0-9]+ visible GPUs, found [0-9]+/) && (split(substr($0, RSTART, RLENGTH), w, " ")) &&
           w[2] + 0 > w[6] + 0 && w[6] + 0 >= 1)' | sort -u)
  if [ "$HAVE_GPU" = 1 ] && [ -n "$bad_skips" ]; then
    echo "skipped, with a GPU present, for another reason than wanting more GPUs:"
    echo "$bad_skips"
    detail "$total tests, ${failed:-?} failed, $skipped skipped; with a GPU present, $(echo "$bad_skips" | wc -l) skips for another reason than more GPUs, e.g. $(echo "$bad_skips" | head -1 | cut -c1-150)"
    return 1
  fi
  detail "$total tests, ${failed:-?} failed, $skipped skipped$([ "$HAVE_GPU" = 1 ] && echo " (each for want of more GPUs)" || echo " (no GPU: each says SKIPPED)")"
  return $rc
}

# ---- End to end: a short training on cuda against cpu, same seed, generated data.

ec() { pack_env; "$BUILD/src/ectrain" "$@"; }
step_e2e_data() {
  mkdir -p "$E2E" && rm -rf "${E2E:?}"/*
  ec generate --out "$E2E/data/train.h5" --rows 200000 --test-rows 20000 --users 20000 --items 5000 --seed 5 \
    >"$E2E/generate.log" 2>&1 || { cat "$E2E/generate.log"; return 1; }
  cat "$E2E/generate.log"
  sed -n 's/.*train on it with: //p' "$E2E/generate.log" >"$E2E/data.args"
  [ -s "$E2E/data.args" ] || return 1
  detail "200,000 training and 20,000 test rows (ectrain generate --seed 5)"
}
# train NAME DEVICE MODEL [SETTINGS...]: 3 epochs of quickstart's training on the data into E2E/NAME
# (log LOG/e2e/NAME.log); MODEL mlp (quickstart's), or dcn with layer norm.
train() {
  local name=$1 device=$2 model=$3 data=() m=()
  shift 3
  read -r -a data <<<"$(cat "$E2E/data.args")"
  [ "$model" = dcn ] && m=(--set model.type=dcn --set model.layer_norm=true)
  mkdir -p "$LOG/e2e"
  echo "train $name: device $device, model $model $*"
  (cd "$REPO" && ec train configs/quickstart.yaml "${data[@]}" --set train.global_batch_size=1024 --set train.epochs=3 \
    --set train.seed=7 --set train.device="$device" --set train.output_dir="$E2E/$name" "${m[@]}" "$@") \
    >>"$LOG/e2e/$name.log" 2>&1 || { echo "train $name failed:"; tail -20 "$LOG/e2e/$name.log"; return 1; }
}
# compare A B [final]: B's curve against A's (metrics.jsonl): mean train loss of every epoch and
# test log-loss within LOSS_RTOL (relative), test AUC within 5e-4 (the same to 3 decimals); "final":
# the last evaluation only (a run resumed on another device). Prints the figures and the largest
# difference of the test predictions.
compare() {
  python3 - "$E2E/$1" "$E2E/$2" "$LOSS_RTOL" "${3:-curve}" <<'EOF'
import csv, json, sys
a_dir, b_dir, rtol, what = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
def events(d, kind):
    return [e for e in map(json.loads, open(d + "/metrics.jsonl")) if e["event"] == kind]
def rel(x, y):
    return abs(x - y) / max(abs(x), 1e-12)
ok, notes = True, []
if what == "curve":
    ea, eb = events(a_dir, "epoch"), events(b_dir, "epoch")
    if len(ea) != len(eb):
        print(f"epochs: {len(ea)} against {len(eb)}"); sys.exit(1)
    for x, y in zip(ea, eb):
        good = rel(x["train_loss"], y["train_loss"]) <= rtol
        ok &= good
        print(f"epoch {x['epoch']}: train loss {x['train_loss']:.6f} / {y['train_loss']:.6f} {'ok' if good else 'DIFFERS'}")
    va, vb = events(a_dir, "eval"), events(b_dir, "eval")
else:
    va, vb = events(a_dir, "eval")[-1:], events(b_dir, "eval")[-1:]
for x, y in zip(va, vb):
    tx, ty = x["test"], y["test"]
    good_l, good_a = rel(tx["log_loss"], ty["log_loss"]) <= rtol, abs(tx["auc"] - ty["auc"]) <= 5e-4
    ok &= good_l and good_a
    print(f"eval at step {x['step']}/{y['step']}: log-loss {tx['log_loss']:.6f} / {ty['log_loss']:.6f} "
          f"{'ok' if good_l else 'DIFFERS'}; AUC {tx['auc']:.5f} / {ty['auc']:.5f} {'ok' if good_a else 'DIFFERS'}")
    notes.append(f"AUC {tx['auc']:.4f}/{ty['auc']:.4f}, log-loss {tx['log_loss']:.4f}/{ty['log_loss']:.4f}")
pa = [float(r[-1]) for r in list(csv.reader(open(a_dir + "/test_predictions.csv")))[1:]]
pb = [float(r[-1]) for r in list(csv.reader(open(b_dir + "/test_predictions.csv")))[1:]]
dp = max(abs(x - y) for x, y in zip(pa, pb)) if pa and len(pa) == len(pb) else float("nan")
print(f"largest difference of the {len(pa)} test predictions: {dp:.3g}")
print(f"DETAIL: {notes[-1] if notes else ''}, largest prediction difference {dp:.2g}")
sys.exit(0 if ok and va and len(va) == len(vb) else 1)
EOF
}
no_gpu() {  # ends a step as skipped where the stand-in is cuda and no GPU is visible
  if [ "$E2E_DEVICE" = cuda ] && [ "$HAVE_GPU" != 1 ]; then detail "no GPU: nvidia-smi lists none"; exit 77; fi
}
step_e2e_cpu() {
  train cpu_mlp cpu mlp && train cpu_dcn cpu dcn || return 1
  detail "mlp and dcn (layer norm) trained 3 epochs on cpu"
}
step_e2e_device_vs_cpu() {
  local rc=0 d1 d2
  no_gpu
  train "${E2E_DEVICE}_mlp" "$E2E_DEVICE" mlp && train "${E2E_DEVICE}_dcn" "$E2E_DEVICE" dcn || return 1
  grep -h "device: " "$LOG/e2e/${E2E_DEVICE}_mlp.log" | head -1
  echo "== mlp: cpu / $E2E_DEVICE"; compare cpu_mlp "${E2E_DEVICE}_mlp" | tee "$E2E/cmp_mlp" || rc=1
  echo "== dcn: cpu / $E2E_DEVICE"; compare cpu_dcn "${E2E_DEVICE}_dcn" | tee "$E2E/cmp_dcn" || rc=1
  d1=$(sed -n 's/^DETAIL: //p' "$E2E/cmp_mlp") d2=$(sed -n 's/^DETAIL: //p' "$E2E/cmp_dcn")
  detail "cpu/$E2E_DEVICE: mlp $d1; dcn $d2"
  return $rc
}
# resume FIRST SECOND REFERENCE: 300 steps on FIRST, the rest on SECOND from its checkpoint; the
# final evaluation as REFERENCE's (trained all on SECOND's or FIRST's device).
step_e2e_resume() {
  local first=$1 second=$2 reference=$3 name=${1}_then_$2
  no_gpu
  [ -f "$E2E/$reference/metrics.jsonl" ] || { detail "needs the run $reference"; return 1; }
  train "$name" "$first" mlp --set train.max_steps=300 && train "$name" "$second" mlp || return 1
  grep -q "resum" "$LOG/e2e/$name.log" || { detail "the run on $second did not resume"; return 1; }
  grep -h "resum" "$LOG/e2e/$name.log" | head -2
  compare "$reference" "$name" final
}

step_bench() {
  local args=(--budget $((STEP_LIMIT - 15)) --out "$LOG/bench.md")
  if [ "$BENCH" = cpu ]; then args+=(--device cpu --tiny)
  elif [ "$HAVE_GPU" != 1 ]; then detail "no GPU: nvidia-smi lists none"; return 77; fi
  # ectrain through the pack's environment; Python (PyTorch) in the machine's own.
  printf '#!/bin/sh\nexport OPAL_PREFIX=%s PMIX_PREFIX=%s LD_LIBRARY_PATH=%s\nexec %s "$@"\n' \
    "$(pack_env; echo "$OPAL_PREFIX")" "$(pack_env; echo "$PMIX_PREFIX")" "$(pack_env; echo "$LD_LIBRARY_PATH")" \
    "$BUILD/src/ectrain" >"$BUILD/ectrain-packed"
  chmod +x "$BUILD/ectrain-packed"
  "$REPO/bench/gpu_throughput.sh" "${args[@]}" --ectrain "$BUILD/ectrain-packed" || return 1
  detail "$(grep -c '^| \(seed\|dlrm\) ' "$LOG/bench.md") rows in bench.md; $(grep -c 'not run' "$LOG/bench.md") runs did not fit the budget"
}

# ---- --hide-system-deps: an overlay on /usr whose whiteouts hide the files of the packed
# packages (and relatives) installed on this machine; /etc/openmpi under an empty tmpfs.
hide_system_deps() {
  local dir pkgs p f n=0
  # The overlay's layers: kept while /usr is mounted over them, to the end of this mount namespace
  # (the device machine is a bare one, given back after the run).
  dir=$(mktemp -d /tmp/ectrain_hide.XXXXXX)
  mkdir -p "$dir/upper" "$dir/work"
  pkgs=$( { cut -d' ' -f1 "$DEPS/MANIFEST"
    dpkg-query -W -f='${Package}\n' | grep -E '^(lib)?(hdf5|openmpi|gtest|gmock|googletest|pmix|hwloc|yaml-cpp|eigen3|cli11|nlohmann|xxhash|protobuf|protoc|onnx)'
  } | sort -u)
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || continue
    while IFS= read -r f; do
      case $f in /lib/* | /bin/* | /sbin/*) f=/usr$f ;; /usr/*) ;; *) continue ;; esac
      [ -f "$f" ] || [ -L "$f" ] || continue
      mkdir -p "$dir/upper$(dirname "${f#/usr}")" && mknod "$dir/upper${f#/usr}" c 0 0 2>/dev/null && n=$((n + 1))
    done < <(dpkg -L "$p" 2>/dev/null)
  done
  mount -t overlay overlay -o "lowerdir=/usr,upperdir=$dir/upper,workdir=$dir/work" /usr || return 1
  [ -d /etc/openmpi ] && mount -t tmpfs tmpfs /etc/openmpi
  echo "device_checks: hid $n files of $(echo "$pkgs" | wc -w) packages of this machine (an overlay on /usr" \
    "in this mount namespace): e.g. /usr/include/hdf5/serial/hdf5.h $([ -e /usr/include/hdf5/serial/hdf5.h ] && echo is || echo 'is not') there" |
    tee -a "$LOG/summary.txt" >&2
}

# ---- The checks.
if [ -n "${ECTRAIN_DEPS_HIDDEN:-}" ]; then hide_system_deps || { echo "device_checks: could not hide the system's packages" >&2; exit 1; }; fi
HAVE_GPU=0
nvidia-smi -L 2>/dev/null | grep -q '^GPU ' && HAVE_GPU=1
export HAVE_GPU

run_step record 30 step_record
run_step unpack 120 step_unpack
if after unpack; then run_step configure 120 step_configure; else skip_after configure unpack; fi
if after configure; then
  run_step deps_from_pack 10 step_deps_from_pack
  run_step build 420 step_build
else
  skip_after deps_from_pack configure
  skip_after build configure
fi
if after build; then
  run_step libraries 30 step_libraries
  run_step gpu_tests 180 step_gpu_tests
  run_step e2e_data 60 step_e2e_data
else
  for s in libraries gpu_tests e2e_data; do skip_after $s build; done
fi
if after e2e_data; then
  run_step e2e_cpu 120 step_e2e_cpu
  if after e2e_cpu; then
    run_step "e2e_${E2E_DEVICE}_vs_cpu" 120 step_e2e_device_vs_cpu
    run_step "e2e_resume_${E2E_DEVICE}_to_cpu" 90 step_e2e_resume "$E2E_DEVICE" cpu cpu_mlp
    run_step "e2e_resume_cpu_to_${E2E_DEVICE}" 90 step_e2e_resume cpu "$E2E_DEVICE" "${E2E_DEVICE}_mlp"
  else
    for s in e2e_${E2E_DEVICE}_vs_cpu e2e_resume_${E2E_DEVICE}_to_cpu e2e_resume_cpu_to_${E2E_DEVICE}; do skip_after "$s" e2e_cpu; done
  fi
else
  for s in e2e_cpu e2e_${E2E_DEVICE}_vs_cpu e2e_resume_${E2E_DEVICE}_to_cpu e2e_resume_cpu_to_${E2E_DEVICE}; do skip_after "$s" e2e_data; done
fi
if [ "$BENCH" = none ]; then record SKIP bench 0 "--no-bench"
elif after build; then
  # The benchmark takes what is left; STEP_LIMIT tells it its budget.
  left=$((DEADLINE - (SECONDS - START) - 5))
  export STEP_LIMIT=$left
  run_step bench "$left" step_bench
else skip_after bench build; fi

passed=$(grep -c '^PASS ' "$LOG/summary.txt") failed=$(grep -c '^FAIL ' "$LOG/summary.txt")
skipped=$(grep -c '^SKIP ' "$LOG/summary.txt")
echo "RESULT: $([ "$failed" = 0 ] && echo PASS || echo FAIL): $passed passed, $failed failed, $skipped skipped in $((SECONDS - START)) s" |
  tee -a "$LOG/summary.txt" >&2
if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS" && cp "$LOG/summary.txt" "$RESULTS/" && { [ ! -f "$LOG/bench.md" ] || cp "$LOG/bench.md" "$RESULTS/"; } &&
    tar -czf "$RESULTS/logs.tar.gz" -C "$(dirname "$LOG")" "$(basename "$LOG")" && echo "results: $RESULTS" >&2
fi
echo "== $LOG/summary.txt"
cat "$LOG/summary.txt"
[ "$failed" = 0 ]
