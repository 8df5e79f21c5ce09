#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and starts the default training run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if build/dodge train --help >/dev/null 2>&1; then
  exec build/dodge train --config configs/quickstart.yaml "$@"
else
  exec build/dodge bench env "$@"
fi
