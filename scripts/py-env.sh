#!/usr/bin/env bash
# Creates the Python environment for dodge's Python scripts (scripts/python/, scripts/bench/):
# a venv at ${DODGE_CACHE:-~/.cache/dodge}/venv-py with PyTorch 2.11.0 (the CUDA 13 wheel that
# scripts/build-cuda.sh fetch-torch caches; it also runs on machines without a GPU), Stable-Baselines3,
# gymnasium, TensorBoard, numpy, pandas, matplotlib and Optuna (the tuner, scripts/tune.sh, with
# SQLAlchemy and psycopg2 for its SQL storages), every package pinned with its hash
# (scripts/cuda/wheels.txt, scripts/python/requirements.txt) and installed with --no-deps.
#
#   scripts/py-env.sh                 # creates it, or reuses it when complete and up to date
#   "$(scripts/py-env.sh | tail -1)" scripts/python/check_tensorboard.py RUN_DIR
#
# The last line printed is the venv's python. On failure: one line saying why, exit code 1
# (pip's full output is in $DODGE_CACHE/venv-py.log).
# Environment: DODGE_CACHE (default ~/.cache/dodge), PYTHON (a CPython 3.11; default python3 or python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
DODGE_CACHE="${DODGE_CACHE:-$HOME/.cache/dodge}"
VENV="$DODGE_CACHE/venv-py"
MARKER="$VENV/.dodge-complete"
LOG="$DODGE_CACHE/venv-py.log"
WHEELS="$DODGE_CACHE/wheels"
TORCH_PINS=scripts/cuda/wheels.txt
PINS=scripts/python/requirements.txt

fail() { echo "py-env: $*" >&2; exit 1; }
log() { echo "py-env: $*"; }

# torch's requirements that we leave out on purpose (see requirements.txt); pip check may name only these.
ALLOWED_MISSING='^torch 2\.11\.0 requires (cuda-toolkit|cuda-bindings|nvidia-cudnn-cu13|nvidia-nccl-cu13|triton), which is not installed\.$'

find_python() {
  local c
  for c in "${PYTHON:-}" python3 python3.11; do
    if [ -z "$c" ] || ! command -v "$c" >/dev/null; then continue; fi
    if "$c" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$c"
      return
    fi
  done
  fail "no CPython 3.11 with the venv module found (set PYTHON=/path/to/python3.11); the torch wheel is cp311"
}

# What the venv was built from: when any of it changes, the venv is rebuilt.
fingerprint() { cat "$TORCH_PINS" "$PINS" | sha256sum | cut -d' ' -f1; }

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$(fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
  log "reusing $VENV"
  echo "$VENV/bin/python"
  exit 0
fi

t0=$SECONDS
python=$(find_python)
mkdir -p "$DODGE_CACHE"
: >"$LOG"

# The torch wheel and the three NVIDIA wheels, downloaded with their hashes.
scripts/build-cuda.sh fetch-torch >>"$LOG" 2>&1 || fail "scripts/build-cuda.sh fetch-torch failed (see $LOG)"
# fetch-torch returns early when the C++ part is already unpacked; make sure the wheels are there too.
if ! ls "$WHEELS"/torch-2.11.0-cp311-*.whl "$WHEELS"/nvidia_cusparselt_cu13-*.whl \
       "$WHEELS"/nvidia_nvshmem_cu13-*.whl "$WHEELS"/nvidia_cufile-*.whl >/dev/null 2>&1; then
  log "downloading the torch wheels into $WHEELS"
  python3 -m pip download --quiet --no-deps --require-hashes -r "$TORCH_PINS" --only-binary=:all: \
    --python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$WHEELS" >>"$LOG" 2>&1 ||
    fail "could not download the wheels in $TORCH_PINS (see $LOG)"
fi

log "creating $VENV with $python ($("$python" --version 2>&1))"
rm -rf "$VENV"
"$python" -m venv "$VENV" >>"$LOG" 2>&1 || fail "'$python -m venv $VENV' failed (see $LOG)"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)

"${pip[@]}" install --no-deps --no-index --require-hashes --find-links "$WHEELS" -r "$TORCH_PINS" >>"$LOG" 2>&1 ||
  fail "installing torch from $WHEELS failed (see $LOG)"
log "torch installed ($((SECONDS - t0)) s); installing $PINS from PyPI"
"${pip[@]}" install --no-deps --require-hashes --only-binary=:all: -r "$PINS" >>"$LOG" 2>&1 ||
  fail "installing $PINS failed: $(grep -E '^ERROR' "$LOG" | head -1 | cut -c1-200) (see $LOG)"

# Every requirement satisfied, apart from torch's CUDA libraries that the toolkit provides.
check=$("${pip[@]}" check 2>&1 || true)
bad=$(printf '%s\n' "$check" | grep -v -E "$ALLOWED_MISSING" | grep -v -E '^No broken requirements found\.$' | grep . || true)
[ -z "$bad" ] || fail "pip check: $(printf '%s' "$bad" | tr '\n' ';')"

"$VENV/bin/python" - >>"$LOG" 2>&1 <<'EOF' || fail "the smoke test (import torch, stable_baselines3, tensorboard, optuna, psycopg2) failed (see $LOG)"
import torch, stable_baselines3, tensorboard, optuna, psycopg2, sqlalchemy
assert float(torch.zeros(3).sum()) == 0.0
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available(),
      "sb3", stable_baselines3.__version__, "tensorboard", tensorboard.__version__,
      "optuna", optuna.__version__, "libpq", psycopg2.__libpq_version__)
EOF

fingerprint >"$MARKER"
log "done in $((SECONDS - t0)) s: $(du -sh "$VENV" | cut -f1) in $VENV ($(tail -1 "$LOG"))"
echo "$VENV/bin/python"
