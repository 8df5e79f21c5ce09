"""The tuner's own time per trial: a trial's seconds (trials.json) less the time its children
(`dodge train`, then `dodge eval` of final/) were running, read from the files each seed's folder
holds (command.txt is written as the child starts, heldout.json as its evaluation ends).

  python3 scripts/bench/tune_overhead.py results/tune/STUDY [...]
"""
import glob
import json
import os
import sys


def trial_overhead(study, r):
    spans, loops, evals = [], 0.0, 0.0
    for s, d in r["seeds"].items():
        sd = f"{study}/trial_{r['number']:04d}/seed_{s}"
        start = os.path.getmtime(f"{sd}/command.txt")
        summary = glob.glob(f"{sd}/*/*/training_summary.json")
        trained = os.path.getmtime(summary[0]) if summary else None
        held = f"{sd}/heldout.json"
        end = os.path.getmtime(held) if os.path.exists(held) else trained or start
        if trained and os.path.exists(held):
            evals += end - trained
        spans.append((start, end))
        loops += d.get("train_seconds") or 0
    # Children side by side count once (their union); one after another, the gaps are the tuner's.
    spans.sort()
    children, reach = 0.0, spans[0][0]
    for start, end in spans:
        children += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return children, loops, evals


for study in sys.argv[1:]:
    print(study)
    for r in json.load(open(f"{study}/trials.json")):
        children, loops, evals = trial_overhead(study, r)
        own = r["seconds"] - children
        print(f"  trial {r['number']:3d} {r['state']:9s} {r['seconds']:7.1f} s; children {children:6.1f} s "
              f"(training loops {loops:6.1f}, held-out evals {evals:4.1f}); the tuner's own {own:5.2f} s "
              f"= {100 * own / r['seconds']:4.2f} %")
