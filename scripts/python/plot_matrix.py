"""One learning-curve picture per cell (label) of the learning matrix, from scripts/trial.py's rows.

  plot_matrix.py --rows docs/bench/trials_matrix_2026-12-03.jsonl [--rows MORE.jsonl ...] \\
      [--labels a,b] [--out docs/matrix]

Writes OUT/LABEL.png: evaluation mean return (top) and survival in % (bottom) against minutes of
training; each seed thin, the median over seeds thick with the min-max band, the bar dashed, and
each seed's held-out result of final/ (the row's last_mean, last_survival: 100 episodes of the
checkpoint the run ended with) as a star at the run's last minute.
Prints a markdown table per label. Rows whose note says aborted or probe, or whose run_dir is gone,
are skipped. Minutes are logs/progress.csv's time/time_elapsed (it counts across resumes),
matched to evaluations.csv's steps.
"""
import argparse
import json
import os
import statistics

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

BAR_MEAN, BAR_SURVIVAL = 900.0, 0.9


def load_rows(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in filter(str.strip, f):
                r = json.loads(line)
                name = f"{r.get('label')} seed {r.get('seed')}"
                note = r.get("note", "").lower()
                if "abort" in note or "probe" in note:
                    print(f"skip {name}: note says {r['note'][:70]}...")
                elif not os.path.isdir(r.get("run_dir", "")):
                    print(f"skip {name}: no run_dir {r.get('run_dir')}")
                else:
                    rows.append(r)
    return rows


def curve(run_dir):
    """The run's evaluations as (minutes, mean return, survival %)."""
    ev = pd.read_csv(os.path.join(run_dir, "evaluations.csv"))
    # evaluations.csv has no clock; progress.csv logs steps with elapsed seconds.
    pr = pd.read_csv(os.path.join(run_dir, "logs", "progress.csv"))
    minutes = np.interp(ev["timesteps"], pr["time/total_timesteps"], pr["time/time_elapsed"]) / 60
    return minutes, ev["mean_reward"].to_numpy(), 100 * ev["success_rate"].to_numpy(), \
        pr["time/time_elapsed"].iloc[-1] / 60


def met(r):
    return (r.get("last_mean") or -1e9) >= BAR_MEAN and (r.get("last_survival") or 0) >= BAR_SURVIVAL


def spread(values):
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):.1f} [{min(values):.1f}, {max(values):.1f}]" if values else "-"


def plot_label(label, rows, out):
    curves = [curve(r["run_dir"]) for r in rows]
    fig, axes = plt.subplots(2, 1, sharex=True, figsize=(8, 7), dpi=120)
    colors = plt.get_cmap("tab10").colors
    for i, (r, (m, ret, surv, _)) in enumerate(zip(rows, curves)):
        c = colors[i % len(colors)]
        axes[0].plot(m, ret, lw=1, color=c, alpha=0.8, label=f"seed {r['seed']}")
        axes[1].plot(m, surv, lw=1, color=c, alpha=0.8)
    # Drawn after the lines so the legend lists the seeds together.
    for i, (r, c) in enumerate(zip(rows, curves)):
        if r.get("last_mean") is not None:
            held = dict(marker="*", s=160, color=colors[i % len(colors)], edgecolor="black", zorder=5)
            axes[0].scatter(c[3], r["last_mean"], **held, label="held-out final/" if i == 0 else None)
            axes[1].scatter(c[3], 100 * r["last_survival"], **held)
    if len(rows) > 1:
        # Only the span every seed covers, so the median never mixes different numbers of seeds.
        grid = np.linspace(max(c[0][0] for c in curves), min(c[0][-1] for c in curves), 200)
        for ax, k in ((axes[0], 1), (axes[1], 2)):
            ys = np.array([np.interp(grid, c[0], c[k]) for c in curves])
            ax.fill_between(grid, ys.min(0), ys.max(0), color="grey", alpha=0.25,
                            label="min-max" if k == 1 else None)
            ax.plot(grid, np.median(ys, 0), lw=3, color="black", label="median" if k == 1 else None)
    axes[0].axhline(BAR_MEAN, ls="--", color="red", lw=1, label="bar")
    axes[1].axhline(100 * BAR_SURVIVAL, ls="--", color="red", lw=1)
    axes[0].set_ylabel("evaluation mean return")
    axes[1].set_ylabel("evaluation survival (%)")
    axes[1].set_ylim(-3, 103)
    axes[1].set_xlabel("minutes of training")
    axes[0].legend(loc="lower right", fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    machines = "; ".join(sorted({r.get("machine", "machine not recorded") for r in rows}))
    episodes = "/".join(str(e) for e in sorted({r.get("eval_episodes", "?") for r in rows}, key=str))
    fig.suptitle(f"{label}: {len(rows)} seed{'s' * (len(rows) > 1)}, {machines}\n"
                 f"{sum(map(met, rows))} of {len(rows)} seeds met the bar "
                 f"(≥900 and ≥90 % of {episodes} held-out episodes)", fontsize=10)
    fig.tight_layout()
    path = os.path.join(out, f"{label}.png")
    fig.savefig(path)
    plt.close(fig)
    return curves, path


def print_table(label, rows, curves, path):
    print(f"\n### {label} ({path})\n")
    print("| seed | minutes | stopped | held-out mean ± std | survival | met |")
    print("|---:|---:|---|---:|---:|---|")
    for r, c in zip(rows, curves):
        mean = f"{r['last_mean']:.1f} ± {r['last_std']:.1f}" if r.get("last_mean") is not None else "-"
        surv = f"{100 * r['last_survival']:.0f} %" if r.get("last_survival") is not None else "-"
        print(f"| {r['seed']} | {c[3]:.1f} | {r.get('stopped', '-')} | {mean} | {surv} | "
              f"{'yes' if met(r) else 'no'} |")
    print(f"\nmedian [range] over {len(rows)} seed{'s' * (len(rows) > 1)}: "
          f"held-out mean {spread([r.get('last_mean') for r in rows])}, "
          f"survival % {spread([100 * r['last_survival'] for r in rows if r.get('last_survival') is not None])}, "
          f"minutes {spread([c[3] for c in curves])}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", action="append", required=True, help="a JSON-lines file of trial rows (repeat)")
    p.add_argument("--labels", help="comma list of labels to draw (default: all found)")
    p.add_argument("--out", default="docs/matrix", help="folder for LABEL.png (default: docs/matrix)")
    args = p.parse_args()
    rows = load_rows(args.rows)
    labels = args.labels.split(",") if args.labels else list(dict.fromkeys(r["label"] for r in rows))
    os.makedirs(args.out, exist_ok=True)
    for label in labels:
        cell = [r for r in rows if r["label"] == label]
        if not cell:
            print(f"skip {label}: no usable rows")
            continue
        curves, path = plot_label(label, cell, args.out)
        print_table(label, cell, curves, path)


if __name__ == "__main__":
    main()
