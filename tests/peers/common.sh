# Shared by the peer tests: the dodge binary ($1), a temporary folder, and the Python of
# scripts/py-env.sh (pip torch 2.x, Stable-Baselines3, TensorBoard). Without that Python the test
# is reported as skipped (exit 77), never as passed.
set -euo pipefail
DODGE="$1"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${DODGE_PYTHON:-${DODGE_CACHE:-$HOME/.cache/dodge}/venv-py/bin/python}"
TMP="$(mktemp -d /tmp/dodge_peer_XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
need_python() {  # need_python MODULE...
  if [ ! -x "$PY" ] || ! "$PY" -c "import $(IFS=,; echo "$*")" 2>/dev/null; then
    echo "SKIPPED: $PY cannot import $*; run scripts/py-env.sh to set it up"
    exit 77
  fi
}
tiny_config() {  # tiny_config NAME [extra yaml lines for env:]
  cat >"$TMP/$1.yaml" <<YAML
env:
  level: 2
  max_episode_steps: 100
  n_envs: 2
${2:-  observation_mode: standard}
sac:
  buffer_size: 5000
  batch_size: 32
  net_arch: [32, 32]
  features_dim: 32
train:
  total_timesteps: 3000
  learning_starts: 300
  eval_freq: 1000
  n_eval_episodes: 2
  checkpoint_freq: 0
  log_interval: 500
  threads: 1
  seed: 3
  device: cpu
YAML
  echo "$TMP/$1.yaml"
}
run_of() { ls -d "$TMP/r/$1"/*/ | head -1; }
