#!/usr/bin/env bash
# CTest tune:*: runs tests/tune/test_tune.py CASE DODGE [DIR] in scripts/py-env.sh's Python (Optuna,
# SQLAlchemy, psycopg2, matplotlib: scripts/python/requirements.txt). Reported as skipped (77) only
# where that environment cannot be made; once made, a missing package is a failure.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -n "${DODGE_PYTHON:-}" ]; then
  PY="$DODGE_PYTHON"
elif out=$("$SRC/scripts/py-env.sh" 2>&1); then
  PY=$(printf '%s\n' "$out" | tail -1)
else
  echo "SKIPPED: scripts/py-env.sh could not set up the Python environment: $(printf '%s\n' "$out" | tail -1)"
  exit 77
fi
exec "$PY" "$SRC/tests/tune/test_tune.py" "$@"
