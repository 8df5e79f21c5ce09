#!/usr/bin/env bash
# TensorBoard's own reader (EventAccumulator) finds rollout/ep_rew_mean, train/critic_loss,
# eval/mean_reward and time/fps in a short run's event file, with the values progress.csv holds at
# the same steps.
source "$(dirname "$0")/common.sh"
need_python tensorboard
cfg=$(tiny_config tb)
"$DODGE" train --config "$cfg" --results "$TMP/r" >"$TMP/train.log" 2>&1 || { cat "$TMP/train.log"; exit 1; }
"$PY" "$SRC/scripts/python/check_tensorboard.py" "$(run_of tb)"
