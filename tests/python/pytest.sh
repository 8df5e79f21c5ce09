#!/usr/bin/env bash
# The Python package's tests (python/tests/test_PART.py) with pytest in scripts/py-env.sh's venv,
# against the dodge binary ($1) for the parity tests. Skipped (exit 77) without that venv.
source "$(dirname "$0")/../peers/common.sh"
need_python dodge pytest
cd "$SRC"
DODGE_BINARY="$DODGE" "$PY" -m pytest -q -p no:cacheprovider "python/tests/test_$2.py"
