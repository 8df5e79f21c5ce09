#!/usr/bin/env bash
# A Ctrl-C in the terminal of a real torchrun launch (Debian's torchrun 1.13, 2 ranks on Gloo):
# SIGINT to the launch's process group, as a terminal sends it; torchrun then forwards it to the
# workers once more. Wanted: rank 0's interrupt checkpoint, no "aborting", and a 2-rank resume
# that continues the run in step. Skipped (77) without torchrun or without Gloo in this build.
source "$(dirname "$0")/../peers/common.sh"
command -v torchrun >/dev/null || { echo "SKIPPED: no torchrun (Debian's python3-torch)"; exit 77; }
cfg=$(tiny_config tiny)
launch() {  # launch LOG ARGS...: a torchrun launch in its own session and process group
  OMP_NUM_THREADS=1 setsid torchrun --standalone --nproc_per_node 2 --no_python -r 1 -t 1 "$DODGE" "${@:2}" \
    >"$TMP/$1" 2>&1 &
  pid=$!
}
launch first.log train --config "$cfg" --results "$TMP/r" --steps 4000000
# Wait for training to be under way on both ranks (a progress row after the random phase).
for _ in $(seq 1 180); do
  if ls "$TMP"/r/tiny/*/logs/progress.csv >/dev/null 2>&1 &&
     [ "$(wc -l < "$(ls "$TMP"/r/tiny/*/logs/progress.csv | head -1)")" -ge 6 ]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    if grep -q "this dodge has no Gloo" "$TMP/first.log"; then echo "SKIPPED: this build has no Gloo"; exit 77; fi
    echo "the launch ended before training got going:"; cat "$TMP/first.log"; exit 1
  fi
  sleep 0.5
done
kill -INT -- "-$pid"
for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then
  echo "the launch did not end within 120 s of the Ctrl-C"; kill -KILL -- "-$pid"; cat "$TMP/first.log"; exit 1
fi
run=$(run_of tiny)
fail() { echo "FAILED: $*"; echo "--- launch log"; cat "$TMP/first.log"; exit 1; }
grep -q "aborting" "$TMP/first.log" && fail "a rank aborted (the forwarded SIGINT was taken as a second Ctrl-C)"
grep -q '"stopped": *"interrupted"' "$run/training_summary.json" || fail "training_summary.json does not say interrupted"
ls -d "$run"/checkpoints/step_* >/dev/null 2>&1 || fail "no interrupt checkpoint in $run/checkpoints"
echo "interrupt checkpoint: $(ls -d "$run"/checkpoints/step_* | tail -1)"
# The run continues under torchrun with 2 ranks, in step (equal parameter digests).
launch resume.log train --resume "$run" --steps 400
for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
wait "$pid" || { echo "FAILED: the resume launch failed"; cat "$TMP/resume.log"; exit 1; }
d0=$(grep -o 'rank 0 of 2: [0-9]* updates, parameters digest [0-9a-f]*' "$TMP/resume.log" | grep -o '[0-9a-f]*$' || true)
d1=$(grep -o 'rank 1 of 2: [0-9]* updates, parameters digest [0-9a-f]*' "$TMP/resume.log" | grep -o '[0-9a-f]*$' || true)
[ -n "$d0" ] && [ "$d0" = "$d1" ] || { echo "FAILED: resumed ranks' digests '$d0' and '$d1'"; cat "$TMP/resume.log"; exit 1; }
echo "resumed with 2 ranks, in step (digest $d0)"
