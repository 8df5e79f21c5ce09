#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with CTest.
#   scripts/test.sh [ctest args]   # Release build in build/, every test
#   scripts/test.sh --sanitize     # AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/,
#                                  # the game, render, replay-buffer and config tests
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "${1:-}" = "--sanitize" ]; then
  shift
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  [ -f build-asan/CMakeCache.txt ] ||
    cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDODGE_BUILD_VIEWER=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  cmake --build build-asan -j "$(nproc)" --target test_game test_render test_learn test_run
  # LibTorch is not instrumented: its own allocations are not ours to report as leaks.
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  build-asan/test_game
  build-asan/test_render
  build-asan/test_learn "[replay]"
  build-asan/test_run "[config]"
  echo "test.sh --sanitize: game, render, replay and config tests clean under ASan + UBSan"
  exit 0
fi
scripts/build.sh
ctest --test-dir build -j "$(nproc)" --output-on-failure "$@"
