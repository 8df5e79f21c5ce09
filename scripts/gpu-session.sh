#!/usr/bin/env bash
# A whole GPU session in one command, for a lent H100/H200 box with no network (the `device` tool).
#
#   scripts/gpu-session.sh bench      # build, [cuda] tests, bench update/replay/train, SB3-style eager update
#   scripts/gpu-session.sh train      # build, a timed run of configs/sac_topdown_cnn.yaml, eval of best/
#   scripts/gpu-session.sh all        # both, within BUDGET_SECONDS: training gets the time the rest leaves
#   scripts/gpu-session.sh rehearse   # on a CPU machine: the same steps with the CUDA-built binary,
#                                     # --device cpu and tiny sizes, to prove the script runs
#
# Before the session, on a Debian machine in the repository root:
#   scripts/build-cuda.sh fetch       # .gpu-deps/: our non-torch dependencies as .deb files
# then run it through the device tool with carry [".gpu-deps"], e.g.
#   run(command="scripts/gpu-session.sh all", carry=[".gpu-deps"], timeout_s=600)
# Every log and JSON goes under $OUT (default build-gpu/session); a short table is printed last.
# Environment: OUT, BUDGET_SECONDS (default 570: the whole script, inside the device's 600 s per call),
# TRAIN_SECONDS (default: what the budget leaves after the steps before it and EVAL_RESERVE, 60 s, for
# the evaluation), EVAL_EPISODES (default 100), TRAIN_SET (space-separated key=value overrides for
# the training run), TORCH_PREFIX (the CUDA LibTorch; default: python3's torch), JOBS (default nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
OUT="${OUT:-build-gpu/session}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUDGET_SECONDS="${BUDGET_SECONDS:-570}"
EVAL_RESERVE="${EVAL_RESERVE:-60}"
TRAIN_SECONDS="${TRAIN_SECONDS:-}"
EVAL_EPISODES="${EVAL_EPISODES:-100}"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
DEVICE=cuda
B=build-gpu/dodge
PY="${PY:-python3}"  # a Python with torch, for the SB3-style eager update
T0=$SECONDS

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

note() { echo "$*" | tee -a "$SUMMARY"; }
# step NAME CMD...: runs CMD with its output in $OUT/NAME.log; notes the outcome and the time.
step() {
  local name=$1 t=$SECONDS rc
  shift
  echo "== $name: $*"
  "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  [ "$name" = train ] && [ $rc -eq 124 ] && rc=0  # stopped by its time budget, as intended
  [ "$name" = eval ] && [ $rc -eq 124 ] && note "eval: stopped at the session's budget; the episodes so far are in eval.log"
  tail -n 25 "$OUT/$name.log"
  note "$(printf '%-16s %-6s %4ds  %s' "$name" "$([ $rc -eq 0 ] && echo ok || echo "rc=$rc")" $((SECONDS - t)) "$*")"
  return $rc
}

build() {
  if [ -x "$B" ] && [ -x build-gpu/test_learn ]; then
    note "build            reused build-gpu/"
    return 0
  fi
  step build scripts/build-cuda.sh build || { note "the build failed: see $OUT/build.log"; finish; exit 1; }
  grep -E "dodge:|CUDA code" "$OUT/build.log" | head -3
}

gpu_info() {
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    nproc; "$PY" -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null ||
      echo "$PY has no torch"
    date -u +%Y-%m-%dT%H:%M:%SZ; git log -1 --format='%h %s' 2>/dev/null; } >"$OUT/machine.txt"
  note "machine: $(head -1 "$OUT/machine.txt"), $(sed -n 2p "$OUT/machine.txt") cores, $(sed -n 3p "$OUT/machine.txt")"
}

bench() {
  local lib="${DEPS_DIR:-/tmp/deps}/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
  # [cuda]: graph replay equals eager, the buffer lives on the device (they skip on the CPU).
  # A failing [cuda] test (a cuDNN benchmark plan that cannot be captured, say) turns the cuDNN
  # autotuner off for the rest of the session: the figures then say what works.
  step cuda_tests build-gpu/test_learn "[cuda]" --success --reporter compact ||
    { export DODGE_CUDNN_BENCHMARK=0; note "cuda_tests failed: DODGE_CUDNN_BENCHMARK=0 from here on"; }
  step learn_tests build-gpu/test_learn "~[learn]"
  # Sized so that the benchmarks take about two minutes and the training run gets the rest.
  local s; s=$(small 100 2)
  step update_graph $B bench update --device $DEVICE --batch "$(small 64,128,256,512,1024 32)" --encoder shared,separate \
    --steps "$s" --warmup "$(small 20 1)" --repeats "$(small 3 1)" --json "$OUT/update_graph.json"
  step update_eager $B bench update --device $DEVICE --batch "$(small 64,128,256,512,1024 32)" --encoder shared,separate \
    --cuda-graph false --steps "$s" --warmup "$(small 20 1)" --repeats "$(small 3 1)" --json "$OUT/update_eager.json"
  if [ "$DEVICE" = cuda ]; then
    # fp32 (IEEE) and bf16 beside the default TF32; the shared encoder without its target copy.
    step update_precision $B bench update --device cuda --batch 128,256,1024 --encoder shared,separate \
      --precision fp32,bf16 --steps 100 --warmup 20 --json "$OUT/update_precision.json"
    step update_no_target $B bench update --device cuda --batch 128,256 --encoder shared --target-encoder false \
      --steps 100 --warmup 20 --json "$OUT/update_no_target.json"
  fi
  step sb3_style "$PY" scripts/bench/sb3_style_update.py --device $DEVICE --batch "$(small 256 32)" \
    --steps "$(small 100 2)" --json "$OUT/sb3_style.json"
  step replay $B bench replay --device $DEVICE --capacity "$(small 1000000 20000)" --batch 128,256 \
    --steps "$(small 200 2)" --json "$OUT/replay.json"
  step train_bench $B bench train --device $DEVICE --envs "$(small 1,4,16,64 4)" --steps "$(small 4000 300)" \
    --warmup "$(small 1000 200)" --json "$OUT/train_bench.json"
}

train() {
  local lib="${DEPS_DIR:-/tmp/deps}/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
  local left=$((BUDGET_SECONDS - (SECONDS - T0)))
  local secs=${TRAIN_SECONDS:-$((left - EVAL_RESERVE))}
  secs=$(small "$secs" 30)
  if [ "$secs" -lt 60 ] && [ "$mode" != rehearse ]; then
    note "train: skipped, only ${left}s of the ${BUDGET_SECONDS}s budget left (set BUDGET_SECONDS or run 'train' alone)"
    return 1
  fi
  note "train: ${secs}s of training (${left}s of the budget left)"
  local extra=()
  # TRAIN_SET="sac.n_step=3 sac.learning_rate=0.0001": overrides for the mission run (a variant).
  local kv; for kv in ${TRAIN_SET:-}; do extra+=(--set "$kv"); done
  [ "$mode" = rehearse ] && extra+=(--set sac.buffer_size=20000 --set train.learning_starts=500 --set train.eval_freq=1000
                                   --set train.n_eval_episodes=2)
  # SIGINT after the time budget: the loop finishes its step, writes a checkpoint and final/, exits 0.
  local t=$SECONDS
  if ! step train timeout -s INT -k 60 "$secs" $B train --config configs/sac_topdown_cnn.yaml --device $DEVICE \
    --results "$OUT/results" --set train.save_replay_buffer=false "${extra[@]}"; then
    # A run that dies early (a CUDA graph that fails on this device, say) gets the rest of the time
    # once more with eager updates, so the session still ends with a trained agent.
    left=$((BUDGET_SECONDS - (SECONDS - T0) - EVAL_RESERVE))
    [ "$mode" = rehearse ] && left=30
    if [ $((SECONDS - t)) -lt $((secs / 2)) ] && [ "$left" -ge 30 ]; then
      mv "$OUT/train.log" "$OUT/train_failed.log"
      note "train: failed after $((SECONDS - t))s (train_failed.log); ${left}s more with sac.cuda_graph=false"
      step train timeout -s INT -k 60 "$left" $B train --config configs/sac_topdown_cnn.yaml --device $DEVICE \
        --results "$OUT/results" --set train.save_replay_buffer=false --set sac.cuda_graph=false "${extra[@]}"
    fi
  fi
  local run; run=$(ls -d "$OUT"/results/sac_topdown_cnn/*/ 2>/dev/null | tail -1)
  [ -n "$run" ] || { note "no run folder"; return 1; }
  local ck="$run/best"; [ -d "$ck" ] || ck="$run"
  left=$((BUDGET_SECONDS - (SECONDS - T0) - 10))
  if [ "$mode" = rehearse ]; then left=600; elif [ "$left" -lt 20 ]; then left=20; fi
  step eval timeout -s INT "$left" $B eval "$ck" --episodes "$(small "$EVAL_EPISODES" 2)" --device $DEVICE --json "$OUT/eval.json"
  cp "$run/training_summary.json" "$run/evaluations.csv" "$run/learning_curve.png" "$OUT/" 2>/dev/null
  grep -E "steps|ep_rew_mean" "$OUT/train.log" | tail -3 >>"$SUMMARY"
  tail -n 3 "$OUT/eval.log" >>"$SUMMARY"
}

# The short table, last: headline figures from the JSON files.
finish() {
  echo
  echo "==== gpu-session $mode: $((SECONDS - T0)) s, logs in $OUT"
  cat "$SUMMARY"
  python3 - "$OUT" <<'EOF' 2>/dev/null || true
import json, os, sys
out = sys.argv[1]
def rows(name):
    p = os.path.join(out, name)
    return json.load(open(p)).get("rows", []) if os.path.exists(p) else []
for name in ("update_graph.json", "update_eager.json", "update_precision.json", "update_no_target.json",
             "train_bench.json", "replay.json"):
    for r in rows(name):
        print(name.split(".")[0], " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
p = os.path.join(out, "sb3_style.json")
if os.path.exists(p):
    print("sb3_style", json.load(open(p)))
EOF
}

gpu_info
case "$mode" in
  bench) build && bench ;;
  train) build && train ;;
  all | rehearse) build && { bench; train; } ;;
  *) echo "usage: scripts/gpu-session.sh bench|train|all|rehearse" >&2; exit 2 ;;
esac
finish
