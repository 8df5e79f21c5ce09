"""What a study of `python -m dodge.tune` leaves beside its trial folders: the table (trials.csv,
trials.json), the best trial as a config (best.yaml), and pictures (PNG through Optuna's
matplotlib backend). Everything is read from the storage (the trials' user attributes), so any
machine that reaches the storage writes the same report.

The statistics (IQM, interval, under 5 seeds the mean and range) are stats.py's.
"""
import csv
import json
import math
import os
import tempfile
import warnings

import numpy as np

from .stats import iqm, iqm_interval  # noqa: F401  (the table's statistics)

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
            # the objective's return: the IQM from 5 seeds on, else the mean (older studies: the IQM)
            "return": res.get("return", res.get("iqm_return")),
            "statistic": res.get("statistic", "IQM" if res.get("iqm_return") is not None else None),
            "min_return": res.get("min_return"),
            "max_return": res.get("max_return"),
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


def _replace_atomically(path, write, mode="w"):
    """Writes PATH through a temporary file of this writer's own (workers sharing a folder never
    write into each other's), then renames it over PATH."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({"newline": ""} if "b" not in mode else {})) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def write_table(rows, seeds, keys, outdir):
    os.makedirs(outdir, exist_ok=True)
    _replace_atomically(os.path.join(outdir, "trials.json"), lambda f: json.dump(rows, f, indent=1, default=str))
    cols = ["number", "state", "value", "statistic", "min_return", "max_return", "iqm_return", "ci95_low",
            "ci95_high", "iqm_success", "iqm_bar_seconds", "iqm_par2_seconds", "seconds", "pruned_at_step"]
    cols += list(keys)
    for s in seeds:
        cols += [f"seed{s}_return", f"seed{s}_success", f"seed{s}_stopped", f"seed{s}_bar_seconds",
                 f"seed{s}_train_seconds", f"seed{s}_run_dir"]
    cols += ["reason", "host", "retry_of"]

    def write(f):
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            ci = r["iqm_return_ci95"] or [None, None]
            out = [r["number"], r["state"],
                   ";".join(fmt(v, 6) for v in r["values"]) if r["values"] else "",
                   r.get("statistic") or "", fmt(r.get("min_return"), 6), fmt(r.get("max_return"), 6),
                   fmt(r["iqm_return"], 6), fmt(ci[0], 6), fmt(ci[1], 6), fmt(r["iqm_success"]),
                   fmt(r["iqm_bar_seconds"]), fmt(r["iqm_par2_seconds"]),
                   fmt(r["seconds"], 5), r["pruned_at_step"] if r["pruned_at_step"] is not None else ""]
            out += [json.dumps(r["params"][k]) if isinstance(r["params"].get(k), list) else fmt(r["params"].get(k), 6)
                    for k in keys]
            for s in seeds:
                d = r["seeds"].get(str(s)) or {}
                h = d.get("heldout") or {}
                out += [fmt(h.get("mean_return"), 6), fmt(h.get("success_rate")), d.get("stopped") or "",
                        fmt(d.get("bar_seconds")), fmt(d.get("train_seconds")), d.get("run_dir", "")]
            out += [r["reason"], (r["worker"] or {}).get("host", ""),
                    "" if r["retry_of"] is None else r["retry_of"]]
            w.writerow(out)

    _replace_atomically(os.path.join(outdir, "trials.csv"), write)


def describe_row(row):
    """A table row's result in words (stats.describe's, from what the storage kept)."""
    if row.get("statistic") == "IQM" and row.get("iqm_return_ci95"):
        lo, hi = row["iqm_return_ci95"]
        return f"held-out return IQM {row['return']:.2f} [{lo:.2f}, {hi:.2f}]"
    rng = ""
    if row.get("min_return") is not None:
        rng = f" (range {row['min_return']:.1f}..{row['max_return']:.1f}; fewer than 5 seeds: no IQM or interval)"
    return f"held-out return {row.get('statistic') or 'mean'} {row['return']:.2f}{rng}"


# ---- the best trial ---------------------------------------------------------------------------
def best_row(rows, objective):
    done = [r for r in rows if r["state"] == "complete" and r["return"] is not None]
    if not done:
        return None
    big = float("inf")

    def tm(r):
        v = r["iqm_bar_seconds"] if r["iqm_bar_seconds"] is not None else r["iqm_par2_seconds"]
        return v if v is not None else (r["seconds"] or big)

    if objective == "time":
        return min(done, key=lambda r: (r["iqm_par2_seconds"], -r["return"], r["number"]))
    # return, and return,time (the Pareto front's highest return): ties (the game's ceiling) go to
    # the faster trial.
    return min(done, key=lambda r: (-round(r["return"], 1), tm(r), r["number"]))


def write_best(study, row, seeds, outdir, study_label):
    """best.yaml: the resolved config.yaml of the best trial's first seed's run, which holds every
    key that run trained with (the base config, the --set values, the trial's values, train.seed,
    train.max_minutes from --minutes, train.save_replay_buffer); the header adds what a config
    cannot hold: the trial's other seeds and the thread count, as the commands that train them."""
    ua = study.get_trials(deepcopy=False)[row["number"]].user_attrs
    text = ua.get("tune_config_yaml") or ""
    if not text:
        return None
    params = " ".join(ua.get("tune_set") or [])
    omp = ua.get("tune_omp_threads")
    env = f"OMP_NUM_THREADS={omp} " if omp else ""
    lines = [
        f"# The best trial of the study {study_label}: trial {row['number']}, {describe_row(row)}, "
        f"over seeds {', '.join(str(s) for s in seeds)}.",
        "# Its values: " + (", ".join(f"{k}: {json.dumps(v)}" for k, v in row["params"].items()) or "(none)"),
        f"# Below: the resolved config.yaml of its seed {seeds[0]} run, every key it trained with. Its runs again:",
    ]
    lines += [f"#   {env}dodge train --config best.yaml --seed {s}" for s in seeds]
    lines.append("# Each gives that seed's evaluations again on the same device and thread count, unless "
                 "train.max_minutes ended it (then it stops where the minutes end). Written by python -m dodge.tune.")
    if params:
        lines.insert(2, "# --set " + params)
    path = os.path.join(outdir, "best.yaml")
    _replace_atomically(path, lambda f: f.write("\n".join(lines) + "\n" + text))
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
            _replace_atomically(path, lambda f: fig.savefig(f, format="png", dpi=100), mode="wb")
            plt.close(fig)
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
