#!/usr/bin/env bash
# CTest fixture: builds the Python package (python/) and installs it into scripts/py-env.sh's venv.
# Skipped (exit 77) where that venv cannot be made; a failed build fails.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if ! "$SRC/scripts/py-env.sh" >/dev/null 2>&1; then
  echo "SKIPPED: scripts/py-env.sh could not set up the Python environment"
  exit 77
fi
"$SRC/scripts/py-package.sh"
