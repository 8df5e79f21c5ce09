#!/usr/bin/env bash
# Optuna studies over `dodge train` (scripts/python/tune.py; README.md, "Tuning"): runs the tuner in the
# project's Python environment, which scripts/py-env.sh makes or reuses (Optuna, SQLAlchemy,
# psycopg2 and matplotlib pinned with their hashes in scripts/python/requirements.txt).
#
#   scripts/tune.sh --config configs/quickstart.yaml --space configs/tune/quickstart.yaml \
#       --seeds 0,1,2 --minutes 5 --max-total-trials 40 [--storage postgresql://...] [--study-name NAME]
#   scripts/tune.sh --help
#
# Environment: DODGE_PYTHON (a Python with those packages, instead of scripts/py-env.sh's venv).
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${DODGE_PYTHON:-}" ]; then
  PY="$DODGE_PYTHON"
else
  out=$("$SRC/scripts/py-env.sh" 2>&1) || { printf '%s\n' "$out" | tail -1 >&2; exit 1; }
  PY=$(printf '%s\n' "$out" | tail -1)
fi
exec "$PY" "$SRC/scripts/python/tune.py" "$@"
