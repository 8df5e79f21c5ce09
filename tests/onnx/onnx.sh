#!/usr/bin/env bash
# dodge export --onnx checked by onnx's checker and ONNX Runtime (in scripts/py-env.sh's venv):
#   onnx.sh DODGE state|state-norm|state-residual|grey48|rgb84  a tiny run of that kind (400 steps, 100 updates: the weights need
#                                      not be good, only equal), exported; ONNX Runtime's actions
#                                      for 1,000 of the run's own observations (dump-obs --policy)
#                                      equal dodge's within 1e-5 (check_onnx.py)
#   onnx.sh DODGE example              scripts/python/onnx_play.py, with torch made unimportable,
#                                      plays dodge eval's episodes: same lengths, outcomes, returns
# Skipped (exit 77) without that venv. Pixel runs train in fp32: dodge's bf16 on a CPU that has it
# (precision: auto) rounds the encoder, which the float32 graph does not (docs/onnx.md).
source "$(dirname "$0")/../peers/common.sh"
kind="$2"
need_python onnx onnxruntime numpy
# One thread per process: tiny networks at batch 1, and ctest may run other tests beside.
export OMP_NUM_THREADS=1
[ "$kind" = example ] && need_python dodge

common='  frame_skip: 4
  max_episode_steps: 120
  n_envs: 2'
case "$kind" in
  state)
    env="  observation_mode: standard
  frame_stack: 2
$common"
    sac="  net_arch: [32, 32]
  policy_average: 0.05"
    ;;
  state-norm)  # the same with sac.normalize_obs: the running statistics inside the graph
    env="  observation_mode: standard
  frame_stack: 2
$common"
    sac="  net_arch: [32, 32]
  normalize_obs: true"
    ;;
  state-residual)  # residual (SimBa) heads: LayerNormalization and Add in the graph
    env="  observation_mode: standard
  frame_stack: 2
$common"
    sac="  net_arch: [32, 32]
  head: residual
  normalize_obs: true
  policy_average: 0.05"
    ;;
  grey48)  # DrQ convolutions (conv4), LayerNorm + tanh features, the averaged policy
    env="  observation_mode: topdown
  image_width: 48
  image_height: 48
  image_grayscale: true
  frame_stack: 3
$common"
    sac="  net_arch: [32, 32]
  encoder: drq
  features_dim: 32
  layer_norm: true
  encoder_mode: shared
  target_encoder: false
  policy_average: 0.05
  precision: fp32"
    ;;
  rgb84)  # NatureCNN with the RGB config's 12x12/8 first layer, ReLU features, separate encoders, online actor
    env="  observation_mode: topdown
  image_width: 84
  image_height: 84
  image_grayscale: false
  frame_stack: 4
$common"
    sac="  net_arch: [32]
  encoder: nature
  conv1_kernel: 12
  conv1_stride: 8
  features_dim: 32
  layer_norm: false
  encoder_mode: separate
  precision: fp32"
    ;;
  example)
    env="  observation_mode: standard
  level: 2
  max_episode_steps: 60
  frame_skip: 2
  n_envs: 2"
    sac="  net_arch: [32, 32]"
    ;;
  *) echo "usage: onnx.sh DODGE state|state-norm|grey48|rgb84|example" >&2; exit 2 ;;
esac
cat >"$TMP/$kind.yaml" <<YAML
env:
$env
sac:
  buffer_size: 2000
  batch_size: 32
$sac
train:
  total_timesteps: 400
  learning_starts: 300
  eval_freq: 0
  checkpoint_freq: 0
  log_interval: 500
  threads: 1
  seed: 3
  device: cpu
YAML
t0=$SECONDS
"$DODGE" train --config "$TMP/$kind.yaml" --results "$TMP/r" >"$TMP/train.log" 2>&1 || { cat "$TMP/train.log"; exit 1; }
run=$(run_of "$kind")
"$DODGE" export "$run" --onnx "$TMP/agent.onnx"
echo "trained and exported in $((SECONDS - t0)) s"

if [ "$kind" = example ]; then
  # No torch: a module named torch that refuses to load stands first on the path.
  mkdir -p "$TMP/no_torch"
  echo 'raise ImportError("torch is not allowed here: the ONNX example runs without it")' >"$TMP/no_torch/torch.py"
  for spec in "1 5" "3 77"; do
    read -r envs seed <<<"$spec"
    "$DODGE" eval "$run/final" --episodes 6 --envs "$envs" --seed "$seed" --device cpu --json "$TMP/eval.json" >/dev/null
    PYTHONPATH="$TMP/no_torch" "$PY" "$SRC/scripts/python/onnx_play.py" "$TMP/agent.onnx" --episodes 6 \
      --envs "$envs" --seed "$seed" --json "$TMP/onnx.json" >/dev/null
    "$PY" - "$TMP/eval.json" "$TMP/onnx.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda e: (e["game"], e["game_episode"])
ea, eb = ({key(e): e for e in x["episodes"]} for x in (a, b))
assert ea.keys() == eb.keys() and len(ea) == 6, (sorted(ea), sorted(eb))
for k in ea:
    # Lengths and outcomes equal; returns equal up to float rounding of the actions.
    assert (ea[k]["length"], ea[k]["survived"]) == (eb[k]["length"], eb[k]["survived"]), (k, ea[k], eb[k])
    assert abs(ea[k]["return"] - eb[k]["return"]) <= 1e-3 * max(1.0, abs(ea[k]["return"])), (k, ea[k], eb[k])
print(f"onnx_play.py = dodge eval on seed {a['seed']}: {len(ea)} episodes, success rate "
      f"{a['success_rate']:.2f}, mean return {a['mean_return']:.1f}")
EOF
  done
  exit 0
fi

"$DODGE" dump-obs --policy "$run" --steps 1000 --seed 11 --no-png --device cpu --out "$TMP/obs" >/dev/null
"$PY" "$SRC/tests/onnx/check_onnx.py" "$TMP/agent.onnx" "$TMP/obs" --tol 1e-5 --min-obs 1000
echo "onnx:$kind done in $((SECONDS - t0)) s"
