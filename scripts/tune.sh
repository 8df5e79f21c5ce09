#!/usr/bin/env bash
# The tuner (python -m dodge.tune, docs/tuning.md) from this checkout, in scripts/py-env.sh's Python
# (or $DODGE_PYTHON), with this checkout's build/dodge unless --dodge or $DODGE_BINARY says another.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${DODGE_PYTHON:-}" ]; then PY="$DODGE_PYTHON"; else
  out=$("$SRC/scripts/py-env.sh" 2>&1) || { printf '%s\n' "$out" | tail -1 >&2; exit 1; }; PY=$(printf '%s\n' "$out" | tail -1); fi
DODGE_BINARY="${DODGE_BINARY:-$SRC/build/dodge}" PYTHONPATH="$SRC/python${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -m dodge.tune "$@"
