#!/usr/bin/env bash
# Builds the Python package dodge (python/: the game and the renderer bound with pybind11, built
# by scikit-build-core) and installs it into scripts/py-env.sh's venv. Incremental: the CMake build
# is kept in build-python/.
#
#   scripts/py-package.sh        # prints the venv's python as its last line
#
# A user's own environment: `pip install .` from the checkout (needs a C++17 compiler and CMake >= 3.18;
# pip fetches scikit-build-core and pybind11).
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(scripts/py-env.sh | tail -1)
log="${DODGE_CACHE:-$HOME/.cache/dodge}/py-package.log"
t0=$SECONDS
# The venv holds the pinned build requirements (scripts/python/requirements.txt): no download here.
if ! "$py" -m pip install --disable-pip-version-check --no-input --no-deps --no-build-isolation \
     --force-reinstall . >"$log" 2>&1; then
  grep -E 'error|Error' "$log" | head -5 >&2
  echo "py-package: building the package failed (see $log)" >&2
  exit 1
fi
"$py" -c 'import dodge, gymnasium; gymnasium.make("Dodge-v0").reset(seed=0)' >>"$log" 2>&1 ||
  { echo "py-package: the installed package does not import (see $log)" >&2; exit 1; }
echo "py-package: dodge installed in $(dirname "$(dirname "$py")") in $((SECONDS - t0)) s"
echo "$py"
