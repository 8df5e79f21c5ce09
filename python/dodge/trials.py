#!/usr/bin/env python3
"""Train a config with one or more seeds, one after another, each for a wall-clock budget or to its
total_timesteps, then evaluate every run's best checkpoint on held-out seeds; print a per-seed table
with the median and range, and append one JSON row per seed to a JSON-lines file.

  python -m dodge.trials --config configs/sac_pixels_cpu.yaml --minutes 60 --seeds 0,1,2 \\
      [--set env.level=1 ...] [--label NAME] [--eval-episodes 100] [--rows docs/bench/trials.jsonl]

Each run is `dodge train --config F --seed S --results RESULTS/LABEL/seed_S [--set ...]`. A run
ends by itself (total_timesteps, train.stop_when, train.max_minutes) or, with --minutes, by Ctrl-C
(SIGINT) when the budget is spent (the trainer writes a checkpoint and exits); the budget counts
from the launch, start-up included. Then `dodge eval RUN/best --episodes N` and `dodge eval RUN`
(the checkpoint the run ended with: final/, or the interrupt checkpoint) play on the eval command's
default seed (train.seed + 2,000,003), which neither the training games (train.seed) nor the
training's evaluations (seeds of their own, train.eval_games) use. Each row also says when the training's
evaluations first reached 900 with 90 % surviving, and the lowest survival among the evaluations
of the run's second half.

Runs never overlap: on a small machine two at once would make every figure wrong.
Standard library only (no numpy), so Debian's python3 runs it.
"""
import argparse
import csv
import datetime
import glob
import json
import os
import signal
import statistics
import subprocess
import sys
import time

from dodge.binary import find_dodge


def cpu_description(path="/proc/cpuinfo"):
    """'MODEL NAME (family F model M, X.Y GHz, avx512_bf16 True|False)', or '?' (as scripts/bench/machine.py)."""
    try:
        with open(path) as f:
            info = f.read()
    except OSError:
        return "?"
    fields = {}
    for line in info.splitlines():
        k, _, v = line.partition(":")
        fields.setdefault(k.strip(), v.strip())
    return (f"{fields.get('model name')} (family {fields.get('cpu family')} model {fields.get('model')}, "
            f"{float(fields.get('cpu MHz', 0) or 0) / 1000:.1f} GHz, avx512_bf16 {'avx512_bf16' in info})")


def commit():
    """The commit of the checkout in the current folder, with '+dirty' when a tracked file other than docs/ and *.md differs
    from it. Docs (the rows file among them) do not change what runs, and the rows this script
    appends would otherwise mark every row after the first as dirty."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)docs", ":(exclude,glob)**/*.md"], capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def fail(message):
    print(f"trials: {message}", file=sys.stderr)
    sys.exit(2)


def train(args, seed, results):
    cmd = [args.dodge, "train", "--config", args.config, "--seed", str(seed), "--results", results]
    for kv in args.set:
        cmd += ["--set", kv]
    print("$ " + " ".join(cmd), flush=True)
    log_path = os.path.join(results, "train.log")
    os.makedirs(results, exist_ok=True)
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        stopped = False
        while proc.poll() is None:
            time.sleep(1.0)
            if args.minutes and not stopped and time.monotonic() - start >= args.minutes * 60:
                proc.send_signal(signal.SIGINT)
                stopped = True
        wall = time.monotonic() - start
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-2000:]
        fail(f"training seed {seed} exited with {proc.returncode}; {log_path} ends:\n{tail}")
    summaries = glob.glob(os.path.join(results, "*", "*", "training_summary.json"))
    if len(summaries) != 1:
        fail(f"expected one run under {results}, found {len(summaries)}")
    with open(summaries[0]) as f:
        return json.load(f), wall


def evaluate(args, run_dir, which):
    """Evaluates RUN/best, or with which="last" the checkpoint the run ended with (final/ when it
    finished or stopped itself, else the interrupt checkpoint)."""
    target = os.path.join(run_dir, "best") if which == "best" else run_dir
    if not os.path.isdir(target):
        return None
    out = os.path.join(run_dir, f"eval_{which}.json")
    cmd = [args.dodge, "eval", target, "--episodes", str(args.episodes), "--json", out]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"eval of {target} exited with {r.returncode}:\n{r.stdout[-2000:]}")
    with open(out) as f:
        return json.load(f)


def eval_history(run_dir):
    """The run's evaluations from logs/progress.csv: (seconds, step, mean reward, success rate)."""
    path = os.path.join(run_dir, "logs", "progress.csv")
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path) as f:
        for r in csv.DictReader(f):
            if r.get("eval/mean_reward"):
                rows.append((float(r["time/time_elapsed"]), int(float(r["time/total_timesteps"])),
                             float(r["eval/mean_reward"]), float(r["eval/success_rate"])))
    return rows


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} [{min(values):.1f}, {max(values):.1f}]"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m dodge.trials", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeat)")
    p.add_argument("--seeds", default="0", help="comma list of training seeds (default 0)")
    p.add_argument("--minutes", type=float, default=0, help="wall-clock budget per seed; 0: run to total_timesteps")
    p.add_argument("--eval-episodes", "--episodes", dest="episodes", type=int, default=100,
                   help="evaluation episodes of each best checkpoint (default 100)")
    p.add_argument("--label", default="", help="name of this variant (default: the config's file name)")
    p.add_argument("--results", default=os.path.join("results", "trials"), help="default results/trials")
    p.add_argument("--rows", default=os.path.join("results", "trials", "trials.jsonl"),
                   help="JSON-lines file the rows are appended to (default results/trials/trials.jsonl)")
    p.add_argument("--dodge", help="the dodge binary (default $DODGE_BINARY, else dodge on PATH, else ./build/dodge)")
    args = p.parse_args(argv)
    if not os.path.isfile(args.config):
        fail(f"--config {args.config}: no such file")
    args.dodge, why = find_dodge(args.dodge)
    if why:
        fail(why)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        fail(f"--seeds {args.seeds}: expected a comma list of integers")
    label = args.label or os.path.splitext(os.path.basename(args.config))[0]
    stamp = datetime.datetime.now().strftime("%Y%m%d_%H%M%S")

    rows = []
    for seed in seeds:
        results = os.path.join(args.results, f"{label}_{stamp}", f"seed_{seed}")
        summary, wall = train(args, seed, results)
        ev = evaluate(args, summary["run_dir"], "best")
        last = evaluate(args, summary["run_dir"], "last")
        history = eval_history(summary["run_dir"])
        # When the evaluations (during training) first met the bar, and the worst survival over the
        # run's second half: how steady the policy it ends with is.
        bar = next(((t, s) for t, s, m, k in history if m >= 900 and k >= 0.9), None)
        half = [k for t, s, m, k in history if t >= history[-1][0] / 2] if history else []
        row = {
            "date": datetime.date.today().isoformat(),
            "machine": cpu_description(),
            "commit": commit(),
            "label": label,
            "config": args.config,
            "overrides": args.set,
            "seed": seed,
            "budget_minutes": args.minutes or None,
            "wall_seconds": round(wall, 1),
            "train_seconds": round(summary.get("duration_seconds", 0.0), 1),
            "env_steps": summary.get("total_timesteps"),
            "updates": summary.get("n_updates"),
            "updates_per_second": round(summary["n_updates"] / wall, 2) if wall > 0 else None,
            "best_eval_step": summary.get("best_eval_step"),
            "best_eval_during_training": summary.get("best_eval_mean_reward"),
            "final_eval_during_training": (summary.get("final_eval") or {}).get("mean_reward"),
            "stopped": summary.get("stopped"),
            "evals_first_at_bar_seconds": round(bar[0], 1) if bar else None,
            "evals_first_at_bar_step": bar[1] if bar else None,
            "second_half_min_eval_survival": min(half) if half else None,
            "run_dir": summary["run_dir"],
        }
        if summary.get("curriculum"):
            row["curriculum"] = summary["curriculum"]
        if ev:
            row.update({
                "eval_step": ev.get("step"),
                "eval_episodes": len(ev.get("episodes", [])),
                "eval_seed": ev.get("seed"),
                "eval_mean": ev.get("mean_return"),
                "eval_std": ev.get("std_return"),
                "eval_survival": ev.get("success_rate"),
            })
        if last:
            row.update({
                "last_checkpoint_step": last.get("step"),
                "last_mean": last.get("mean_return"),
                "last_std": last.get("std_return"),
                "last_survival": last.get("success_rate"),
            })
        rows.append(row)
        os.makedirs(os.path.dirname(os.path.abspath(args.rows)), exist_ok=True)
        with open(args.rows, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    if len(rows) > 1:
        png = os.path.join(args.results, f"{label}_{stamp}", "curves.png")
        subprocess.run([args.dodge, "plot", *[r["run_dir"] for r in rows], "--out", png, "--title",
                        f"{label}: {len(rows)} seeds"], check=False)
    print(f"\n{label}: {args.config} {' '.join('--set ' + s for s in args.set)}")
    print(f"{'seed':>4} {'minutes':>7} {'env steps':>10} {'updates':>8} {'upd/s':>6} {'best@step':>10} "
          f"{'eval mean':>10} {'± std':>7} {'survived':>8} {'last mean':>10} {'± std':>7} {'survived':>8} "
          f"{'bar at s':>8} {'min 2nd half':>12}")
    def pct(v):
        return "-" if v is None else f"{100 * v:.0f}%"

    for r in rows:
        print(f"{r['seed']:>4} {r['wall_seconds'] / 60:>7.1f} {r['env_steps']:>10} {r['updates']:>8} "
              f"{r['updates_per_second'] or 0:>6.1f} {r['best_eval_step']:>10} "
              f"{r.get('eval_mean', float('nan')):>10.1f} {r.get('eval_std', float('nan')):>7.1f} "
              f"{pct(r.get('eval_survival')):>8} "
              f"{r.get('last_mean', float('nan')):>10.1f} {r.get('last_std', float('nan')):>7.1f} "
              f"{pct(r.get('last_survival')):>8} "
              f"{r['evals_first_at_bar_seconds'] or '-':>8} {pct(r['second_half_min_eval_survival']):>12}")
    print(f"median [range] over {len(rows)} seeds: eval mean {spread([r.get('eval_mean') for r in rows])}, "
          f"survival % {spread([100 * r['eval_survival'] if r.get('eval_survival') is not None else None for r in rows])}, "
          f"best during training {spread([r.get('best_eval_during_training') for r in rows])}")
    print(f"  the checkpoint each run ended with: eval mean {spread([r.get('last_mean') for r in rows])}, "
          f"survival % {spread([100 * r['last_survival'] if r.get('last_survival') is not None else None for r in rows])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
