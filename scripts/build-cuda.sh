#!/usr/bin/env bash
# Builds dodge against a CUDA LibTorch.
#
# On our CPU machines and in CI (CUDA toolkit, no GPU, PyPI reachable):
#   scripts/build-cuda.sh fetch-torch  # PyPI's torch 2.11.0 for CUDA 13 (+3 NVIDIA libraries, pinned with
#                                      # hashes in scripts/cuda/wheels.txt) into ~/.cache/dodge, unpacked
#   scripts/build-cuda.sh ci           # fetch-torch, build build-cuda/ (dodge + test_learn) with the CUDA
#                                      # code on, then check that the binary starts without a GPU
# On a CUDA box without network access (see scripts/gpu-session.sh for the whole GPU session):
#   scripts/build-cuda.sh fetch        # on a Debian 12 machine with apt: our non-torch dependencies as
#                                      # .deb files into .gpu-deps/
#   scripts/build-cuda.sh build        # unpacks .gpu-deps/ into /tmp/deps, finds the CUDA LibTorch
#                                      # (TORCH_PREFIX, or pip's PyTorch), builds build-gpu/
#
# Environment: DODGE_CACHE (default ~/.cache/dodge), TORCH_PREFIX (a LibTorch or site-packages/torch),
# DEPS_DIR (default /tmp/deps), TORCH_CUDA_ARCH_LIST (default 9.0), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-build}"
DODGE_CACHE="${DODGE_CACHE:-$HOME/.cache/dodge}"
DEPS_DIR="${DEPS_DIR:-/tmp/deps}"
JOBS="${JOBS:-$(nproc)}"
TORCH_VERSION=2.11.0
# pip's layout (torch/ beside nvidia/*/lib), so libtorch_cuda.so's RPATH ($ORIGIN/../../nvidia/...)
# finds cuSPARSELt, NVSHMEM and cuFile both when linking and at run time.
PIP_TORCH_ROOT="$DODGE_CACHE/torch-$TORCH_VERSION-cu130"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"

log() { echo "build-cuda: $*"; }

fetch_torch() {
  if [ -f "$PIP_TORCH_ROOT/.complete" ]; then
    log "CUDA LibTorch $TORCH_VERSION already unpacked in $PIP_TORCH_ROOT"
    return
  fi
  command -v pip >/dev/null || { echo "build-cuda: pip is missing (python3-pip)" >&2; exit 1; }
  mkdir -p "$DODGE_CACHE/wheels"
  local t0=$SECONDS
  # The cp311 manylinux_2_28 wheel whatever the local Python: only its C++ part is used.
  pip download --quiet --no-deps --require-hashes -r scripts/cuda/wheels.txt --only-binary=:all: \
    --python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$DODGE_CACHE/wheels"
  rm -rf "$PIP_TORCH_ROOT.partial" && mkdir -p "$PIP_TORCH_ROOT.partial"
  # C++ headers, libraries and CMake files; not the Python bindings (libtorch_python.so).
  unzip -q -o "$DODGE_CACHE/wheels/torch-$TORCH_VERSION-"*.whl 'torch/include/*' 'torch/lib/*' 'torch/share/*' \
    -x 'torch/lib/libtorch_python.so' -d "$PIP_TORCH_ROOT.partial"
  for w in "$DODGE_CACHE"/wheels/nvidia_*.whl; do
    unzip -q -o "$w" 'nvidia/*/lib/*' -d "$PIP_TORCH_ROOT.partial"
  done
  touch "$PIP_TORCH_ROOT.partial/.complete"
  rm -rf "$PIP_TORCH_ROOT" && mv "$PIP_TORCH_ROOT.partial" "$PIP_TORCH_ROOT"
  log "unpacked into $PIP_TORCH_ROOT ($(du -sh "$PIP_TORCH_ROOT" | cut -f1), wheels $(du -sh "$DODGE_CACHE/wheels" | cut -f1), $((SECONDS - t0)) s)"
}

generator() { command -v ninja >/dev/null && echo "-G Ninja" || true; }

ci() {
  fetch_torch
  local t0=$SECONDS
  command -v nvcc >/dev/null || { echo "build-cuda: nvcc is missing (the CUDA toolkit, /usr/local/cuda)" >&2; exit 1; }
  # shellcheck disable=SC2046
  mkdir -p build-cuda
  cmake -S . -B build-cuda $(generator) -DCMAKE_BUILD_TYPE=Release -DDODGE_BUILD_VIEWER=OFF \
    -DCMAKE_PREFIX_PATH="$PIP_TORCH_ROOT/torch" >build-cuda/configure.log 2>&1 ||
    { cat build-cuda/configure.log; exit 1; }
  grep -E "dodge:" build-cuda/configure.log
  grep -q "CUDA code: ON" build-cuda/configure.log || { echo "build-cuda: the CUDA code is not enabled" >&2; exit 1; }
  # The executable and the learner's tests (the [cuda] ones compile every CUDA code path).
  cmake --build build-cuda -j "$JOBS" --target dodge test_learn
  log "built in $((SECONDS - t0)) s"
  smoke
}

# The CUDA binary on a machine without a GPU: --device cuda is a one-line error with exit 2,
# --device auto falls back to the CPU.
smoke() {
  local b=build-cuda/dodge err rc=0
  err=$($b bench update --device cuda --steps 1 --json /dev/null 2>&1 >/dev/null) || rc=$?
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    log "a GPU is visible; skipping the no-GPU checks"
    return
  fi
  [ "$rc" -eq 2 ] || { echo "build-cuda: --device cuda without a GPU exited $rc, expected 2: $err" >&2; exit 1; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "build-cuda: expected one line, got: $err" >&2; exit 1; }
  printf '%s\n' "$err" | grep -q "no CUDA device" || { echo "build-cuda: unexpected message: $err" >&2; exit 1; }
  log "--device cuda without a GPU: exit 2: $err"
  $b bench update --device auto --batch 16 --encoder shared --steps 2 --repeats 1 --warmup 1 \
    --json build-cuda/smoke_update.json | tee build-cuda/smoke_update.txt
  grep -q "on cpu" build-cuda/smoke_update.txt || { echo "build-cuda: --device auto did not fall back to the CPU" >&2; exit 1; }
  # The learner's CPU tests with LibTorch 2.x (the [cuda] ones skip without a GPU).
  build-cuda/test_learn "~[learn]"
}

fetch() {
  # .gitignore keeps .gpu-deps/ out of git (a clone without .git/info/ must not fail here).
  mkdir -p .gpu-deps
  local pkgs=(libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 catch2 libcli11-dev
              nlohmann-json3-dev libzstd-dev libzstd1 libpng-dev libpng16-16 zlib1g-dev zlib1g libgif-dev libgif7)
  (cd .gpu-deps && apt-get download "${pkgs[@]}")
  ls -1 .gpu-deps
}

build() {
  [ -d .gpu-deps ] || { echo "build-cuda: .gpu-deps/ is missing: run 'scripts/build-cuda.sh fetch' on Debian first" >&2; exit 1; }
  mkdir -p "$DEPS_DIR"
  for f in .gpu-deps/*.deb; do dpkg -x "$f" "$DEPS_DIR"; done
  export LD_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  local torch_prefix="${TORCH_PREFIX:-$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')}"
  # shellcheck disable=SC2046
  cmake -S . -B build-gpu $(generator) -DCMAKE_BUILD_TYPE=Release -DDODGE_BUILD_VIEWER=OFF \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$DEPS_DIR/usr;$DEPS_DIR/usr/lib/x86_64-linux-gnu/cmake" \
    -DCMAKE_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu" -DCMAKE_INCLUDE_PATH="$DEPS_DIR/usr/include" \
    -DCMAKE_BUILD_RPATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu"
  # shellcheck disable=SC2086
  cmake --build build-gpu -j "$JOBS" --target ${TARGETS:-dodge test_learn}
  grep -q "DODGE_CUDA" build-gpu/compile_commands.json && log "CUDA code enabled" ||
    log "WARNING: the Torch found has no CUDA; this is a CPU build"
}

case "$mode" in
  fetch-torch) fetch_torch ;;
  ci) ci ;;
  smoke) smoke ;;
  fetch) fetch ;;
  build) build ;;
  *) echo "usage: scripts/build-cuda.sh fetch-torch|ci|smoke|fetch|build" >&2; exit 2 ;;
esac
