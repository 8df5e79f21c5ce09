#!/usr/bin/env bash
# A whole GPU session in one command, for a lent H100/H200 box with no network (the `device` tool).
#
#   scripts/gpu-session.sh all        # build, [cuda] tests, the mission run, its eval, then benchmarks
#   scripts/gpu-session.sh train      # build, the mission run and its eval
#   scripts/gpu-session.sh bench      # build, [cuda] tests, benchmarks
#   scripts/gpu-session.sh rehearse   # on a CPU machine: the same steps with the CUDA-built binary,
#                                     # --device cpu and tiny sizes, to prove the script runs and packs
#
# Before the session, on a Debian machine in the repository root:
#   scripts/build-cuda.sh fetch       # .gpu-deps/: our non-torch dependencies as .deb files
# then run it through the device tool with carry [".gpu-deps"], e.g.
#   run(command="scripts/gpu-session.sh all", carry=[".gpu-deps"], timeout_s=600)
#
# Only a few files come back from the device ($OUT, at most 8, 2 folders deep). So every log and
# JSON goes to a session folder in the build tree (SESSION, default build-gpu/session), which is packed
# into $OUT/session.tgz (without .pt files or replay buffers) after every step and on exit; beside it
# in $OUT: summary.txt, eval.json, training_summary.json, learning_curve.png.
#
# Order: what the mission needs first (build, [cuda] tests, training for TRAIN_SECONDS, its evaluation),
# then the benchmarks, smallest and most important first, each only if the budget still holds it.
# Every step runs under `timeout` from what the budget leaves, so one slow step cannot eat the call.
#
# Environment: OUT (default build-gpu/out), SESSION, BUDGET_SECONDS (default 540: the whole script,
# inside the device's 600 s per call), TRAIN_SECONDS (default 240), EVAL_SECONDS (cap, default 45),
# EVAL_EPISODES (default 100), TRAIN_CONFIG (default configs/sac_topdown_cnn.yaml), TRAIN_SET
# (space-separated key=value overrides for the training run), TORCH_PREFIX (the CUDA LibTorch;
# default: python3's torch), JOBS (default nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
case "$mode" in all | train | bench | rehearse) ;; *)
  echo "usage: scripts/gpu-session.sh all|train|bench|rehearse" >&2
  exit 2
  ;;
esac
T0=$SECONDS
OUT="${OUT:-build-gpu/out}"
SESSION="${SESSION:-build-gpu/session}"
mkdir -p "$OUT" "$SESSION"
OUT="$(cd "$OUT" && pwd)"
SESSION="$(cd "$SESSION" && pwd)"
BUDGET_SECONDS="${BUDGET_SECONDS:-540}"
TRAIN_SECONDS="${TRAIN_SECONDS:-240}"
EVAL_SECONDS="${EVAL_SECONDS:-45}"
EVAL_EPISODES="${EVAL_EPISODES:-100}"
TRAIN_CONFIG="${TRAIN_CONFIG:-configs/sac_topdown_cnn.yaml}"
SUMMARY="$SESSION/summary.txt"
: >"$SUMMARY"
DEVICE=cuda
B=build-gpu/dodge
PY="${PY:-python3}"  # a Python with torch, for the SB3-style eager update

if [ "$mode" = rehearse ]; then
  # The CUDA LibTorch that CI links against, our .deb dependencies unpacked as on the box, the CPU.
  scripts/build-cuda.sh fetch-torch >/dev/null
  [ -d .gpu-deps ] || scripts/build-cuda.sh fetch >/dev/null
  export TORCH_PREFIX="${TORCH_PREFIX:-${DODGE_CACHE:-$HOME/.cache/dodge}/torch-2.11.0-cu130/torch}"
  export DEPS_DIR="${DEPS_DIR:-/tmp/deps-rehearse}"
  DEVICE=cpu
  python3 -c 'import torch' 2>/dev/null || PY="$(scripts/py-env.sh | tail -1)"
fi
small() { [ "$mode" = rehearse ] && echo "$2" || echo "$1"; }
left() { echo $((BUDGET_SECONDS - (SECONDS - T0))); }

note() { echo "$*" | tee -a "$SUMMARY"; }

# The session folder into $OUT/session.tgz (atomically), and the headline files beside it.
pack() {
  tar czf "$OUT/session.tgz.partial" --exclude='*.pt' --exclude='replay*' -C "$(dirname "$SESSION")" \
    "$(basename "$SESSION")" 2>/dev/null && mv "$OUT/session.tgz.partial" "$OUT/session.tgz"
  cp "$SUMMARY" "$OUT/summary.txt" 2>/dev/null
  local f
  for f in eval.json training_summary.json learning_curve.png; do
    [ -f "$SESSION/$f" ] && cp "$SESSION/$f" "$OUT/$f"
  done
  return 0
}

# step NAME CAP MIN CMD...: runs CMD under `timeout` for min(CAP, what the budget leaves minus a
# 10 s reserve for packing), with its output in $SESSION/NAME.log; skipped when less than MIN
# seconds are left. Notes the outcome and the time, then packs. A step stopped by its time limit
# (rc 124) is noted as such.
step() {
  local name=$1 cap=$2 min=$3 t=$SECONDS rc
  shift 3
  local secs=$(($(left) - 10))
  [ "$secs" -gt "$cap" ] && secs=$cap
  if [ "$secs" -lt "$min" ]; then
    note "$(printf '%-16s %-8s %4ds  (only %ds of the budget left, needs %ds)' "$name" skipped 0 "$(left)" "$min")"
    return 3
  fi
  echo "== $name (at most ${secs}s): $*"
  timeout -s INT -k 10 "$secs" "$@" >"$SESSION/$name.log" 2>&1
  rc=$?
  tail -n 20 "$SESSION/$name.log"
  local outcome=ok
  [ $rc -eq 124 ] && outcome="time-up"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && outcome="rc=$rc"
  note "$(printf '%-16s %-8s %4ds  %s' "$name" "$outcome" $((SECONDS - t)) "$*")"
  pack
  return $rc
}

finish() {
  echo
  echo "==== gpu-session $mode: $((SECONDS - T0)) s of ${BUDGET_SECONDS}, everything in $SESSION, packed in $OUT"
  python3 - "$SESSION" <<'EOF' >>"$SUMMARY" 2>/dev/null || true
import json, os, sys
s = sys.argv[1]
def rows(name):
    p = os.path.join(s, name)
    return json.load(open(p)).get("rows", []) if os.path.exists(p) else []
for name in ("update.json", "update_precision.json", "train_bench.json", "replay.json"):
    for r in rows(name):
        print(name.split(".")[0], " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
p = os.path.join(s, "sb3_style.json")
if os.path.exists(p):
    print("sb3_style", json.load(open(p)))
EOF
  pack
  cat "$SUMMARY"
}
trap finish EXIT

build() {
  if [ -x "$B" ] && [ -x build-gpu/test_learn ]; then
    note "build            reused build-gpu/"
    return 0
  fi
  step build 400 60 scripts/build-cuda.sh build || { note "the build failed: see build.log"; exit 1; }
  grep -E "dodge:|CUDA code" "$SESSION/build.log" | head -3
}

gpu_info() {
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    nproc; "$PY" -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null ||
      echo "$PY has no torch"
    date -u +%Y-%m-%dT%H:%M:%SZ; git log -1 --format='%h %s' 2>/dev/null; } >"$SESSION/machine.txt"
  note "machine: $(head -1 "$SESSION/machine.txt"), $(sed -n 2p "$SESSION/machine.txt") cores, $(sed -n 3p "$SESSION/machine.txt")"
}

libs() {
  local lib="${DEPS_DIR:-/tmp/deps}/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
}

cuda_tests() {
  # [cuda]: graph replay equals eager, the buffer lives on the device, the trainer's own path (they
  # skip on the CPU). The rest of test_learn runs in CI. A failing [cuda] test (a cuDNN plan that
  # cannot be captured, say) turns the cuDNN autotuner off for the rest of the session.
  step cuda_tests 90 20 build-gpu/test_learn "[cuda]" --reporter compact ||
    { export DODGE_CUDNN_BENCHMARK=0; note "cuda_tests failed: DODGE_CUDNN_BENCHMARK=0 from here on"; }
}

train() {
  local secs; secs=$(small "$TRAIN_SECONDS" 30)
  local extra=()
  # TRAIN_SET="sac.n_step=3 sac.learning_rate=0.0001": overrides for the mission run (a variant).
  local kv; for kv in ${TRAIN_SET:-}; do extra+=(--set "$kv"); done
  [ "$mode" = rehearse ] && extra+=(--set sac.buffer_size=20000 --set train.learning_starts=500 --set train.eval_freq=1000
                                   --set train.n_eval_episodes=2)
  # SIGINT at the time limit: the loop finishes its step, writes a checkpoint, exits 0 (rc 124 from
  # timeout). The eval reserve stays out of the training's share.
  local t=$SECONDS rc
  step train "$secs" "$(small 60 20)" $B train --config "$TRAIN_CONFIG" --device $DEVICE --results "$SESSION/results" \
    --set train.save_replay_buffer=false "${extra[@]}"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 3 ] && [ $((SECONDS - t)) -lt $((secs / 2)) ]; then
    # A run that dies early (a CUDA graph that fails on this device, say) gets the rest of its
    # time once more with eager updates, so the session still ends with a trained agent.
    mv "$SESSION/train.log" "$SESSION/train_failed.log"
    rm -rf "$SESSION/results"
    note "train: failed after $((SECONDS - t))s (train_failed.log); again with sac.cuda_graph=false"
    step train $((secs - (SECONDS - t))) 30 $B train --config "$TRAIN_CONFIG" --device $DEVICE \
      --results "$SESSION/results" --set train.save_replay_buffer=false --set sac.cuda_graph=false "${extra[@]}"
  fi
  local run; run=$(ls -d "$SESSION"/results/*/*/ 2>/dev/null | tail -1)
  [ -n "$run" ] || { note "no run folder"; return 1; }
  cp "$run/training_summary.json" "$run/evaluations.csv" "$run/learning_curve.png" "$SESSION/" 2>/dev/null
  grep -E "step .*fps" "$SESSION/train.log" | tail -2 >>"$SUMMARY"
  local ck="$run/best"; [ -d "$ck" ] || ck="$run"
  step eval "$(small "$EVAL_SECONDS" 120)" 10 $B eval "$ck" --episodes "$(small "$EVAL_EPISODES" 2)" --device $DEVICE \
    --json "$SESSION/eval.json"
  tail -n 3 "$SESSION/eval.log" >>"$SUMMARY"
  pack
}

bench() {
  # The issue's figures first (batch 256, 84x84 grey x 4, shared: graph vs eager, and PyTorch's
  # eager SB3-style update in the same call), then end to end, then the rest.
  local s; s=$(small 200 2)
  step update 60 15 $B bench update --device $DEVICE --batch "$(small 128,256,1024 32)" --encoder shared \
    --cuda-graph true --steps "$s" --warmup "$(small 20 1)" --repeats "$(small 3 1)" --json "$SESSION/update.json"
  step update_eager 60 15 $B bench update --device $DEVICE --batch "$(small 256 32)" --encoder shared \
    --cuda-graph false --steps "$(small 100 2)" --warmup "$(small 10 1)" --repeats "$(small 3 1)" \
    --json "$SESSION/update_eager.json"
  step sb3_style 60 15 "$PY" scripts/bench/sb3_style_update.py --device $DEVICE --batch "$(small 256 32)" \
    --steps "$(small 50 2)" --json "$SESSION/sb3_style.json"
  step train_bench 90 20 $B bench train --device $DEVICE --envs "$(small 1,16 4)" --steps "$(small 3000 300)" \
    --warmup "$(small 500 200)" --json "$SESSION/train_bench.json"
  if [ "$DEVICE" = cuda ]; then
    step update_precision 60 15 $B bench update --device cuda --batch 256 --encoder shared \
      --precision fp32,bf16 --steps 100 --warmup 10 --json "$SESSION/update_precision.json"
  fi
  step replay 45 15 $B bench replay --device $DEVICE --capacity "$(small 200000 20000)" --batch 256 \
    --steps "$(small 200 2)" --json "$SESSION/replay.json"
  return 0
}

gpu_info
build
libs
case "$mode" in
  bench) cuda_tests; bench ;;
  train) train ;;
  all | rehearse) cuda_tests; train; bench ;;
esac
