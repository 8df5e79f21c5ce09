#!/usr/bin/env bash
# Installs every Debian package that building and testing dodge needs.
# Idempotent and non-interactive; works as root or through sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git unzip
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-openmp     # fast BLAS sharing LibTorch's OpenMP threads (the default is the slow reference BLAS)
  libsdl2-dev             # dodge watch / play
  libsdl2-ttf-dev fonts-dejavu-core  # HUD text
  libyaml-cpp-dev         # configs
  libspdlog-dev libfmt-dev
  catch2                  # tests (v2)
  libcli11-dev            # command line
  libzstd-dev             # replay buffer / checkpoint compression
  libpng-dev              # dump-obs and learning curves
  libgif-dev              # episode recordings
  nlohmann-json3-dev      # JSON outputs (bench, eval, summaries, manifests)
  python3-torch           # checks that policy.pt loads in Python; torchrun
  libgloo-dev             # Gloo headers: data-parallel training on CPUs (c10d)
  xvfb xauth              # viewer tests and screenshots without a display
  postgresql              # tune:postgres starts its own server (scripts/tune.sh's SQL storage)
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: not root and no sudo; install these packages: ${PACKAGES[*]}" >&2
    exit 1
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
