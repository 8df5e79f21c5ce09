#!/usr/bin/env bash
# Builds dodge against a CUDA LibTorch on a machine without network access, runs the CUDA tests
# and the benchmarks, and prints a short table.
#
#   scripts/build-cuda.sh fetch   # on a Debian 12 machine with apt: downloads our non-torch
#                                 # dependencies as .deb files into .gpu-deps/
#   scripts/build-cuda.sh build   # on the CUDA box: unpacks .gpu-deps/ into /tmp/deps, finds the
#                                 # CUDA LibTorch (TORCH_PREFIX, or pip's PyTorch), builds build-gpu/
#   scripts/build-cuda.sh test    # build, then the [cuda] tests and the CPU suite's fast parts
#   scripts/build-cuda.sh bench   # build, then dodge bench update/replay/train on the GPU
#                                 # (OUT=dir keeps the logs and JSON files there)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-build}"
DEPS_DIR="${DEPS_DIR:-/tmp/deps}"
OUT="${OUT:-build-gpu/bench}"

fetch() {
  echo /.gpu-deps/ >> .git/info/exclude
  mkdir -p .gpu-deps
  local pkgs=(libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 catch2 libcli11-dev
              nlohmann-json3-dev libzstd-dev libzstd1 libpng-dev libpng16-16 zlib1g-dev libgif-dev libgif7)
  (cd .gpu-deps && apt-get download "${pkgs[@]}")
  ls -1 .gpu-deps
}

build() {
  [ -d .gpu-deps ] || { echo "build-cuda: .gpu-deps/ is missing: run 'scripts/build-cuda.sh fetch' on Debian first" >&2; exit 1; }
  mkdir -p "$DEPS_DIR"
  for f in .gpu-deps/*.deb; do dpkg -x "$f" "$DEPS_DIR"; done
  export LD_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  local torch_prefix="${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S . -B build-gpu "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DDODGE_BUILD_VIEWER=OFF \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$DEPS_DIR/usr;$DEPS_DIR/usr/lib/x86_64-linux-gnu/cmake" \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" -DCMAKE_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu" \
    -DCMAKE_INCLUDE_PATH="$DEPS_DIR/usr/include"
  cmake --build build-gpu -j "$(nproc)"
  grep -q "DODGE_CUDA" build-gpu/compile_commands.json && echo "build-cuda: CUDA code enabled" ||
    echo "build-cuda: WARNING: the Torch found has no CUDA; this is a CPU build"
}

case "$mode" in
  fetch) fetch ;;
  build) build ;;
  test)
    build
    export LD_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
    DODGE_TEST_HAS_CUDA=1 build-gpu/test_learn "[cuda]"
    (cd build-gpu && DODGE_TEST_HAS_CUDA=1 ctest -j "$(nproc)" --output-on-failure -E "learn: SAC learns")
    ;;
  bench)
    build
    export LD_LIBRARY_PATH="$DEPS_DIR/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
    mkdir -p "$OUT"
    b=build-gpu/dodge
    $b bench update --device cuda --batch 64,128,256,512,1024 --encoder shared,separate --steps 200 \
      --json "$OUT/update_graph.json" | tee "$OUT/update_graph.txt"
    $b bench update --device cuda --batch 256 --encoder shared --cuda-graph false --steps 200 \
      --json "$OUT/update_eager.json" | tee "$OUT/update_eager.txt"
    $b bench update --device cuda --batch 256 --encoder shared --precision bf16 --steps 200 \
      --json "$OUT/update_bf16.json" | tee "$OUT/update_bf16.txt"
    python3 scripts/bench/sb3_style_update.py --device cuda --batch 256 --steps 100 --json "$OUT/sb3_eager.json" |
      tee "$OUT/sb3_eager.txt"
    $b bench replay --device cuda --json "$OUT/replay.json" | tee "$OUT/replay.txt"
    $b bench train --device cuda --envs 1,4,16,64 --steps 5000 --warmup 2000 --json "$OUT/train.json" |
      tee "$OUT/train.txt"
    ;;
  *) echo "usage: scripts/build-cuda.sh fetch|build|test|bench" >&2; exit 2 ;;
esac
