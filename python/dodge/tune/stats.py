"""The objective and its statistics: the interquartile mean over a trial's seeds (rliable's IQM)
with its percentile-bootstrap interval, PAR-2 seconds to the bar, and what a trial's result says.

The IQM is the mean of the middle 50 % of the per-seed scores (scipy.stats.trim_mean(x, 0.25));
its 95 % interval resamples the runs with replacement 50,000 times (rliable's
get_interval_estimates with one task), in numpy rather than pinning rliable (scipy, arch, pandas,
seaborn) for twenty lines. Under MIN_SEEDS_FOR_IQM seeds neither means much: the trial's value is
the plain mean, and its values and their range are reported instead.
"""
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


MIN_SEEDS_FOR_IQM = 5  # under it, no IQM and no interval: the values, their mean and range


def center(values):
    """(the trial's value, what it is): the IQM from MIN_SEEDS_FOR_IQM seeds on, else the mean."""
    if len(values) >= MIN_SEEDS_FOR_IQM:
        return iqm(values), "IQM"
    return float(np.mean(values)) if len(values) else float("nan"), "mean"


def aggregate(runs, budget_seconds=None):
    """A trial's result from its seeds' runs (each with .heldout and .bar_seconds()). A run
    without a held-out evaluation (stopped, failed) has no place in it: the caller fails the
    trial, and this says which."""
    missing = [r.seed for r in runs if not r.heldout]
    if missing:
        return {"error": f"no held-out evaluation of seed(s) {', '.join(map(str, missing))}"}
    rets = [r.heldout["mean_return"] for r in runs]
    succ = [r.heldout["success_rate"] for r in runs]
    value, stat = center(rets)
    many = len(rets) >= MIN_SEEDS_FOR_IQM
    res = {"return": value, "statistic": stat, "n_seeds": len(rets),
           "iqm_return": iqm(rets) if many else None,
           "iqm_return_ci95": iqm_interval(rets) if many else None,
           "min_return": float(min(rets)), "max_return": float(max(rets)),
           "iqm_success": center(succ)[0], "returns": rets, "success": succ,
           "heldout_seeds": [r.heldout.get("seed") for r in runs],
           "heldout_episodes": runs[0].heldout.get("episodes")}
    bars = [r.bar_seconds() for r in runs]
    res["bar_reached"] = sum(b is not None for b in bars)
    res["stopped"] = [r.stopped_by() for r in runs]
    res["iqm_bar_seconds"] = center(bars)[0] if all(b is not None for b in bars) else None
    if budget_seconds:
        # PAR-2 (algorithm configuration's penalised run time): a seed that missed the bar (a
        # plateau, the budget) counts twice the budget.
        par2 = [b if b is not None else 2 * budget_seconds for b in bars]
        res["iqm_par2_seconds"] = center(par2)[0]
        res["par2_seconds"] = par2
    else:
        res["iqm_par2_seconds"] = None
    return res


def describe(res):
    """The result as one line's words: the IQM and its interval from 5 seeds on; under 5, the
    values and their range, saying that too few seeds give no interval."""
    vals = ", ".join("%.1f" % v for v in res["returns"])
    if res["statistic"] == "IQM":
        lo, hi = res["iqm_return_ci95"]
        return f"held-out return IQM {res['return']:.2f} [{lo:.2f}, {hi:.2f}] ({vals})"
    return (f"held-out return mean {res['return']:.2f} ({vals}; range {res['min_return']:.1f}..{res['max_return']:.1f}; "
            f"fewer than {MIN_SEEDS_FOR_IQM} seeds: no IQM or interval)")
