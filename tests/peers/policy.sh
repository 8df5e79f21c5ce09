#!/usr/bin/env bash
# Python reads our policy: policy.pt + manifest.json in a plain torch.nn.Module give the same
# deterministic actions as dodge for the observations `dodge dump-obs --policy` wrote, for a
# vector policy and pixel policies with each encoder (NatureCNN; DrQ with LayerNorm + tanh and an averaged policy), with the pip torch 2.x and, when installed, Debian's torch 1.13.
source "$(dirname "$0")/common.sh"
need_python torch numpy
pythons=("$PY")
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null && pythons+=(/usr/bin/python3)
for kind in vector pixels drq; do
  extra=()
  # The DrQ policy also ships an averaged copy (sac.policy_average): policy.pt holds it, and dodge's
  # deterministic actions (dump-obs --policy) come from it too.
  [ $kind = drq ] && extra=(--set sac.encoder=drq --set sac.layer_norm=true --set sac.policy_average=0.05)
  if [ $kind = vector ]; then
    cfg=$(tiny_config $kind)
  else
    cfg=$(tiny_config $kind "  observation_mode: topdown
  image_width: 48
  image_height: 48
  frame_stack: 3")
  fi
  "$DODGE" train --config "$cfg" --results "$TMP/r" --steps 600 --set train.eval_freq=0 "${extra[@]}" >"$TMP/$kind.log" 2>&1 ||
    { cat "$TMP/$kind.log"; exit 1; }
  run=$(run_of $kind)
  "$DODGE" dump-obs --policy "$run" --device cpu --steps 30 --out "$TMP/obs_$kind" >>"$TMP/$kind.log" 2>&1 ||
    { cat "$TMP/$kind.log"; exit 1; }
  for py in "${pythons[@]}"; do
    echo "== $kind policy, $py"
    "$py" "$SRC/scripts/python/policy_example.py" "$run/final" "$TMP/obs_$kind" --quiet
  done
done
