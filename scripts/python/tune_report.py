"""What a study of scripts/tune.sh leaves beside its trial folders: the table (trials.csv,
trials.json), the best trial as a config (best.yaml), and pictures (PNG through Optuna's
matplotlib backend). Everything is read from the storage (the trials' user attributes), so any
machine that reaches the storage writes the same report.

The aggregate over seeds is rliable's interquartile mean (the mean of the middle 50 % of the
per-seed scores, scipy.stats.trim_mean(x, 0.25): with fewer than 4 seeds nothing is cut and it is
the mean) with a 95 % percentile bootstrap interval over the seeds (rliable's
get_interval_estimates with one task: resample the runs with replacement, 50,000 times). Written
here in numpy rather than pinning rliable, which would bring scipy, arch, pandas and seaborn into
the environment for these twenty lines; tests/tune/test_tune.py (case space) checks it against the definition.
"""
import csv
import json
import math
import os
import warnings

import numpy as np

BOOTSTRAP_REPS = 50_000


def iqm(values):
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return float("nan")
    cut = int(0.25 * n)
    return float(np.mean(x[cut:n - cut]))


def iqm_interval(values, reps=BOOTSTRAP_REPS, confidence=0.95, seed=0):
    """The IQM's percentile bootstrap interval over the runs (seeded: the same numbers give the same
    interval)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return [float("nan"), float("nan")]
    if n == 1:
        return [float(x[0]), float(x[0])]
    rng = np.random.default_rng(seed)
    samples = np.sort(x[rng.integers(0, n, size=(reps, n))], axis=1)
    cut = int(0.25 * n)
    stats = samples[:, cut:n - cut].mean(axis=1)
    a = (1 - confidence) / 2
    lo, hi = np.percentile(stats, [100 * a, 100 * (1 - a)])
    return [float(lo), float(hi)]


def fmt(v, digits=4):
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.{digits}g}"
    return str(v)


# ---- the table --------------------------------------------------------------------------------
def trial_rows(study, seeds):
    import optuna

    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        if ua.get("tune_over_budget"):
            continue
        res = ua.get("tune_result") or {}
        per_seed = {}
        for s in seeds:
            r = ua.get(f"tune_seed_{s}")
            if r:
                per_seed[str(s)] = r
        secs = None
        if t.datetime_start and t.datetime_complete:
            secs = (t.datetime_complete - t.datetime_start).total_seconds()
        state = t.state.name.lower()
        if t.state == optuna.trial.TrialState.RUNNING and ua.get("tune_worker"):
            state = "running"
        rows.append({
            "number": t.number,
            "state": state,
            "values": t.values,
            "params": ua.get("tune_values") or t.params,
            "iqm_return": res.get("iqm_return"),
            "iqm_return_ci95": res.get("iqm_return_ci95"),
            "iqm_success": res.get("iqm_success"),
            "iqm_bar_seconds": res.get("iqm_bar_seconds"),
            "iqm_par2_seconds": res.get("iqm_par2_seconds"),
            "seeds": per_seed,
            "pruned_at_step": ua.get("tune_pruned_at_step"),
            "reason": ua.get("tune_reason", ""),
            "seconds": secs,
            "worker": ua.get("tune_worker"),
            "retry_of": ua.get("tune_retry_of"),
            "started": t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None,
        })
    return rows


def write_table(rows, seeds, keys, outdir):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "trials.json.tmp"), "w") as f:
        json.dump(rows, f, indent=1, default=str)
    os.replace(os.path.join(outdir, "trials.json.tmp"), os.path.join(outdir, "trials.json"))
    cols = ["number", "state", "value", "iqm_return", "ci95_low", "ci95_high", "iqm_success",
            "iqm_bar_seconds", "iqm_par2_seconds", "seconds", "pruned_at_step"]
    cols += list(keys)
    for s in seeds:
        cols += [f"seed{s}_return", f"seed{s}_success", f"seed{s}_bar_seconds", f"seed{s}_train_seconds",
                 f"seed{s}_run_dir"]
    cols += ["reason", "host", "retry_of"]
    tmp = os.path.join(outdir, "trials.csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            ci = r["iqm_return_ci95"] or [None, None]
            out = [r["number"], r["state"],
                   ";".join(fmt(v, 6) for v in r["values"]) if r["values"] else "",
                   fmt(r["iqm_return"], 6), fmt(ci[0], 6), fmt(ci[1], 6), fmt(r["iqm_success"]),
                   fmt(r["iqm_bar_seconds"]), fmt(r["iqm_par2_seconds"]),
                   fmt(r["seconds"], 5), r["pruned_at_step"] if r["pruned_at_step"] is not None else ""]
            out += [json.dumps(r["params"][k]) if isinstance(r["params"].get(k), list) else fmt(r["params"].get(k), 6)
                    for k in keys]
            for s in seeds:
                d = r["seeds"].get(str(s)) or {}
                h = d.get("heldout") or {}
                out += [fmt(h.get("mean_return"), 6), fmt(h.get("success_rate")), fmt(d.get("bar_seconds")),
                        fmt(d.get("train_seconds")), d.get("run_dir", "")]
            out += [r["reason"], (r["worker"] or {}).get("host", ""),
                    "" if r["retry_of"] is None else r["retry_of"]]
            w.writerow(out)
    os.replace(tmp, os.path.join(outdir, "trials.csv"))


# ---- the best trial ---------------------------------------------------------------------------
def best_row(rows, objective):
    done = [r for r in rows if r["state"] == "complete" and r["iqm_return"] is not None]
    if not done:
        return None
    big = float("inf")

    def tm(r):
        v = r["iqm_bar_seconds"] if r["iqm_bar_seconds"] is not None else r["iqm_par2_seconds"]
        return v if v is not None else (r["seconds"] or big)

    if objective == "time":
        return min(done, key=lambda r: (r["iqm_par2_seconds"], -r["iqm_return"], r["number"]))
    # return, and return,time (the Pareto front's highest return): ties (the game's ceiling) go to
    # the faster trial.
    return min(done, key=lambda r: (-round(r["iqm_return"], 1), tm(r), r["number"]))


def write_best(study, row, seeds, outdir, study_label):
    ua = study.get_trials(deepcopy=False)[row["number"]].user_attrs
    text = ua.get("tune_config_yaml") or ""
    if not text:
        return None
    ci = row["iqm_return_ci95"] or [float("nan")] * 2
    params = " ".join(ua.get("tune_set") or [])
    omp = ua.get("tune_omp_threads")
    lines = [
        f"# The best trial of the study {study_label}: trial {row['number']}, "
        f"held-out return IQM {row['iqm_return']:.1f} (95 % bootstrap interval {ci[0]:.1f}..{ci[1]:.1f}) "
        f"over seeds {', '.join(str(s) for s in seeds)}.",
        "# Its values: " + (", ".join(f"{k}: {json.dumps(v)}" for k, v in row["params"].items()) or "(none)"),
        "# The config below is the resolved config.yaml of that trial's first seed "
        f"({seeds[0]}): `dodge train --config best.yaml` trains that run again (the same evaluations "
        "on the same device and thread count"
        + (f", OMP_NUM_THREADS={omp}" if omp else "") + "); "
        "`--seed S` trains the trial's other seeds. Written by scripts/tune.sh.",
    ]
    if params:
        lines.insert(2, "# --set " + params)
    path = os.path.join(outdir, "best.yaml")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n" + text)
    os.replace(path + ".tmp", path)
    return path


# ---- pictures ---------------------------------------------------------------------------------
def write_pictures(study, rows, best, objective, outdir):
    """Optimisation history, parameter importances, parallel coordinates, intermediate values (or
    the Pareto front with two objectives) and the best trial's learning curves. Returns
    {name: path or why not}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    out = {}
    n_done = sum(1 for r in rows if r["state"] == "complete")
    multi = len(study.directions) > 1
    name = {"return": "held-out return (IQM over seeds)",
            "time": "seconds to the bar (PAR-2, IQM over seeds)"}.get(objective)
    target = None
    if multi:
        target, name = (lambda t: t.values[0]), "held-out return (IQM over seeds)"

    def save(fname, make):
        path = os.path.join(outdir, fname)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = make()
            fig = ax.figure if hasattr(ax, "figure") else np.ravel(ax)[0].figure
            fig.set_size_inches(9, 5.5)
            fig.tight_layout()
            fig.savefig(path + ".tmp.png", dpi=100)
            plt.close(fig)
            os.replace(path + ".tmp.png", path)
            out[fname] = path
        except Exception as e:  # a picture that cannot be drawn yet (too few trials) is not an error
            plt.close("all")
            out[fname] = f"not drawn: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"

    if n_done == 0:
        return {"pictures": "not drawn: no complete trial yet"}
    kw = {"target": target, "target_name": name} if target else {"target_name": name}
    save("history.png", lambda: ovm.plot_optimization_history(study, **kw))
    if n_done >= 2:
        save("importances.png", lambda: ovm.plot_param_importances(study, **kw))
    else:
        out["importances.png"] = "not drawn: needs 2 complete trials"
    save("parallel.png", lambda: ovm.plot_parallel_coordinate(study, **kw))
    if multi:
        save("pareto.png", lambda: ovm.plot_pareto_front(
            study, target_names=["held-out return (IQM)", "seconds to the bar (PAR-2, IQM)"]))
    elif any(r["state"] in ("pruned", "complete") for r in rows):
        save("intermediate.png", lambda: ovm.plot_intermediate_values(study))
    if best is not None:
        save("best_curves.png", lambda: _best_curves(plt, best))
    return out


def _best_curves(plt, row):
    fig, ax = plt.subplots()
    for s, d in sorted(row["seeds"].items(), key=lambda kv: int(kv[0])):
        ev = d.get("evals") or []
        if not ev:
            continue
        t = [e[0] for e in ev]
        m = np.array([e[1] for e in ev])
        sd = np.array([e[2] for e in ev])
        line, = ax.plot(t, m, marker="o", ms=3, label=f"seed {s}")
        ax.fill_between(t, m - sd, m + sd, color=line.get_color(), alpha=0.15)
        h = d.get("heldout") or {}
        if h.get("mean_return") is not None:
            ax.plot([t[-1]], [h["mean_return"]], marker="*", ms=12, color=line.get_color())
    ci = row["iqm_return_ci95"] or [None, None]
    title = f"trial {row['number']}: evaluations during training (±1 std); ★ held-out eval of final/"
    if row["iqm_return"] is not None:
        title += f"\nheld-out IQM {row['iqm_return']:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean evaluation return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax
