"""Optuna studies over `dodge train`: a trial is K seeds of one config, pruned on the evaluations
its runs write, scored by a held-out evaluation of each final/ aggregated with rliable's
interquartile mean; workers on any number of machines share one storage.

  scripts/tune.sh --config configs/quickstart.yaml --space configs/tune/quickstart.yaml \\
      --study-name qs --seeds 0,1,2 --minutes 5 --max-total-trials 40 \\
      [--storage results/tune/qs/study.journal | postgresql://user@host/db] [--parallel auto]

A trial: `dodge train --config F --seed S --results RESULTS/trial_N/seed_S --set KEY=VALUE ...`
for each seed (one after another, or --parallel of them side by side), each run a child process
whose evaluations.csv is read as it grows: each evaluation is an intermediate value for the pruner
(the mean over the seeds running side by side; the step is the env step counted over the trial's
runs). Then `dodge eval RUN/final --episodes N`, on the eval command's own seed (train.seed +
2,000,003: neither the training games nor its evaluations play it), and the trial's value is the
interquartile mean of those held-out returns over the seeds (with its bootstrap interval in the
table). Everything the study leaves is in RESULTS: trial_N/seed_S/<config>/<time>/ (the runs),
trials.csv, trials.json, best.yaml and the pictures; `--report` writes them again from the storage.

Exit codes: 0 done, 2 bad input (before any training), 1 a failure (the message says what),
130 / 143 stopped by SIGINT / SIGTERM (the running trial is marked failed, its folders kept, and the
next start continues the study, retrying that trial's values).
"""
import argparse
import os
import signal
import sys
import warnings

import yaml

from . import storage
from ..binary import find_dodge
from . import space as tune_space
from .common import OBJECTIVES, PRUNERS, SAMPLERS, Exit, as_number, dotted_get, fail, say
from .runs import ConfigCheck, check_space, load_base
from .study import Tuner, make_pruner, make_sampler
from .workers import worker_identity

def parse_seeds(text):
    seeds = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else part.rsplit("-", 1)
                seeds += list(range(int(lo), int(hi) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        fail(f"--seeds {text}: expected a comma list of integers (0,1,2) or a range (0-4)")
    if not seeds or len(set(seeds)) != len(seeds):
        fail(f"--seeds {text}: expected distinct seeds")
    return seeds


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m dodge.tune", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="The search space file, the storage, what a study leaves: docs/tuning.md.")
    p.add_argument("--config", help="the base config (YAML)")
    p.add_argument("--space", help="the search space (YAML: config key -> {type: float|int|categorical, ...})")
    p.add_argument("--study-name", help="the study's name (default: the --config file's name)")
    p.add_argument("--storage", help="a journal file (default RESULTS/study.journal), or an SQLAlchemy URL without "
                   "a password (postgresql://user@host/db: libpq reads the password from ~/.pgpass or $PGPASSFILE; "
                   f"sqlite:///file.db); a URL with one goes in ${storage.ENV_VAR}, never on the command line")
    p.add_argument("--results", help="where the runs, the table, best.yaml and the pictures go "
                                     "(default results/tune/STUDY_NAME)")
    p.add_argument("--n-trials", "--trials", dest="trials", type=int, help="trials this worker runs (default: until a budget below ends the study)")
    p.add_argument("--max-total-trials", type=int, help="trials over all workers (failed ones are run again)")
    p.add_argument("--study-minutes", type=float, help="wall-clock minutes for the whole study, from its creation: "
                                                       "no trial starts that could not end in them")
    p.add_argument("--seeds", default="0,1,2", help="training seeds of every trial (default 0,1,2)")
    p.add_argument("--minutes", type=float, default=0.0, help="minutes per training (train.max_minutes); 0: the config's")
    p.add_argument("--parallel", default="1", help="seeds trained side by side: N or auto (the cores; "
                                                   "OMP_NUM_THREADS = cores / N each); default 1")
    p.add_argument("--eval-episodes", "--episodes", dest="episodes", type=int, default=100, help="held-out evaluation episodes per seed (default 100)")
    p.add_argument("--objective", default="return", help="return (the held-out return's IQM over the seeds, "
                   "their mean under 5 seeds; maximised; ties go "
                   "to the faster trial) | time (seconds to the config's stop rule, PAR-2, minimised) | "
                   "return,time (both: a Pareto front, no pruning)")
    p.add_argument("--sampler", default="tpe", help=f"{' | '.join(SAMPLERS)} (default tpe, multivariate)")
    p.add_argument("--sampler-seed", type=int, default=0, help="the sampler's seed (default 0): the same seed "
                   "proposes the same values")
    p.add_argument("--n-startup-trials", type=int, default=10, help="random trials before TPE / CMA-ES (default 10)")
    p.add_argument("--pruner", default="median", help=f"{' | '.join(PRUNERS)} (default median)")
    p.add_argument("--pruner-startup-trials", type=int, default=5,
                   help="finished trials before the median / percentile pruner prunes (default 5)")
    p.add_argument("--pruner-warmup-steps", type=int, help="env steps of each run before pruning "
                   "(default: a third of a run's total_timesteps, or, when --minutes or "
                   "train.max_minutes ends the runs first, of the median step complete trials reached)")
    p.add_argument("--percentile", type=float, default=25.0, help="the percentile pruner's percentile (default 25)")
    p.add_argument("--enqueue", action="append", default=[], metavar="JSON|FILE",
                   help="values to try first, {\"sac.learning_rate\": 0.0003, ...} (repeatable; skipped when a "
                        "trial with them exists)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed override of every run")
    p.add_argument("--heartbeat", type=float, default=60.0, help="seconds between a running trial's heartbeats "
                   "(default 60; a trial of another machine is failed after 3 missed ones)")
    p.add_argument("--dodge", help="the dodge binary (default $DODGE_BINARY, else dodge on PATH, else ./build/dodge)")
    p.add_argument("--check", action="store_true", help="only check --config, --space, --set and --enqueue "
                                                          "(through the dodge binary), then exit")
    p.add_argument("--report", action="store_true", help="only write the table, best.yaml and pictures from the storage")
    p.add_argument("--no-pictures", action="store_true", help="no PNGs at the end (the table and best.yaml only)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        return _main(args)
    except Exit as e:
        if e.message:
            print(f"tune: {e.message}", file=sys.stderr, flush=True)
        return e.code
    except KeyboardInterrupt:  # before the study started: nothing to keep
        print("tune: interrupted before any trial", file=sys.stderr, flush=True)
        return 130


def _main(args):
    # Arguments, before anything is opened or trained.
    if args.report:
        if not args.study_name:
            fail("--report needs --study-name (and --storage unless it is RESULTS/study.journal)")
    else:
        if not args.config or not args.space:
            fail("--config FILE and --space FILE are required (or --report)")
        if not os.path.isfile(args.config):
            fail(f"--config {args.config}: no such file")
    if not args.study_name:
        args.study_name = os.path.splitext(os.path.basename(args.config))[0]
    if not args.results:
        args.results = os.path.join("results", "tune", args.study_name)
    args.storage, args.storage_from = storage.resolve(args.storage, args.results)
    args.results = os.path.abspath(args.results)  # the table's run folders, from any working directory
    if args.objective not in OBJECTIVES:
        fail(f"--objective {args.objective}: allowed: {', '.join(OBJECTIVES)}")
    if args.sampler not in SAMPLERS:
        fail(f"--sampler {args.sampler}: allowed: {', '.join(SAMPLERS)}")
    if args.pruner not in PRUNERS:
        fail(f"--pruner {args.pruner}: allowed: {', '.join(PRUNERS)}")
    for name, opt in (("trials", "--n-trials"), ("max_total_trials", "--max-total-trials"),
                      ("episodes", "--eval-episodes"), ("n_startup_trials", "--n-startup-trials")):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "n_startup_trials" else 1):
            fail(f"{opt} {v}: must be {'>= 0' if name == 'n_startup_trials' else '>= 1'}")
    if args.minutes < 0 or (args.study_minutes is not None and args.study_minutes <= 0) or args.heartbeat <= 0:
        fail("--minutes, --study-minutes and --heartbeat must be positive")
    for s in args.set:
        if "=" not in s or not s.split("=", 1)[0]:
            fail(f"--set {s}: expected section.key=value")

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # The tuner records the heartbeat itself (its trials are asked and told, not run by optimize()).
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    tuner = Tuner(args)
    tuner.seeds = [] if args.report else parse_seeds(args.seeds)

    if args.report:
        tuner.sampler = tuner.pruner = None
        study = tuner.open_study(create=False)
        tuner.report(study, pictures=not args.no_pictures)
        return 0

    if args.trials is None and args.max_total_trials is None and args.study_minutes is None and not args.check:
        fail("say when the study ends: --trials N (this worker), --max-total-trials N (all workers) or "
             "--study-minutes M")
    args.dodge, why = find_dodge(args.dodge)
    if why:
        fail(why)
    try:
        space = tune_space.load(args.space)
    except OSError as e:
        fail(f"--space {args.space}: {e.strerror}")
    except tune_space.SpaceError as e:
        fail(f"{args.space}: {e}")
    if not space.params:
        fail(f"{args.space}: the space is empty")
    fixed_keys = {s.split("=", 1)[0] for s in args.set}
    for k in space.params:
        if k == "train.seed":
            fail(f"{args.space}: train.seed: the tuner sets it (--seeds)")
        if k == "train.max_minutes" and args.minutes:
            fail(f"{args.space}: train.max_minutes: --minutes sets it")
        if k in fixed_keys:
            fail(f"{args.space}: {k}: also fixed by --set; keep one")
    enqueued = []
    for e in args.enqueue:
        try:
            if os.path.isfile(e):
                with open(e) as f:
                    vals = yaml.safe_load(f)
            else:
                vals = yaml.safe_load(e)
        except (OSError, yaml.YAMLError) as err:
            fail(f"--enqueue {e}: not a JSON/YAML mapping or a readable file ({err})")
        if not isinstance(vals, dict):
            fail(f"--enqueue {e}: expected a mapping {{\"sac.learning_rate\": 0.0003}}")
        try:
            enqueued.append(space.encode(vals))
        except tune_space.SpaceError as err:
            fail(f"--enqueue: {err}")

    base = load_base(args.config, args.set)
    tt = as_number(dotted_get(base, "train.total_timesteps"), 100000.0)
    if args.objective != "return":
        if not dotted_get(base, "train.stop_when"):
            fail(f"--objective {args.objective} measures the time to the config's bar: set train.stop_when "
                 "(e.g. --set 'train.stop_when={mean_reward: 950, success_rate: 0.95}')")
        if not args.minutes and not as_number(dotted_get(base, "train.max_minutes"), 0):
            fail(f"--objective {args.objective} needs a time budget (a seed that misses the bar counts twice it): "
                 "--minutes M or train.max_minutes")
    if args.objective == "return,time" and args.sampler == "cmaes":
        fail("--sampler cmaes has one objective; --objective return,time needs tpe, nsga2 or random")
    if args.objective == "return,time" and args.pruner != "none":
        args.pruner = "none"  # Optuna does not prune multi-objective studies

    cores = len(os.sched_getaffinity(0))
    if args.parallel == "auto":
        tuner.parallel = max(1, min(len(tuner.seeds), cores))
    else:
        try:
            tuner.parallel = int(args.parallel)
        except ValueError:
            fail(f"--parallel {args.parallel}: expected a number or auto")
        if tuner.parallel < 1:
            fail(f"--parallel {args.parallel}: must be >= 1")
        tuner.parallel = min(tuner.parallel, len(tuner.seeds))
    tuner.omp = max(1, cores // tuner.parallel) if tuner.parallel > 1 else None
    # Trials are not resumed (a retry starts afresh), so a stopped run needs no replay buffer: pruned
    # and interrupted runs then end in seconds. A config that asks for it in every checkpoint keeps it.
    tuner.no_buffer = str(dotted_get(base, "train.save_replay_buffer", "auto")).lower() == "auto"

    check = ConfigCheck(args.dodge, args.config)
    check_space(check, space, list(args.set), args.space)
    if args.check:
        say(f"--config {args.config} and --space {args.space}: {len(space.params)} keys, every bound and choice "
            f"accepted by {args.dodge} ({check.calls} checks); nothing trained")
        return 0

    tuner.total_timesteps = tt
    tuner.time_bounded = bool(args.minutes or as_number(dotted_get(base, "train.max_minutes"), 0))
    tuner.sampler = make_sampler(args, multi=args.objective == "return,time")
    # The step axis: batch b of a trial's seeds reports at b * stride + the run's step, stride the
    # largest total_timesteps a trial may have; the pruners' resources are on it too.
    tuner.stride = int(max([tt] + [as_number(v, 0) for v in _space_values(space, "train.total_timesteps")]))
    n_batches = -(-len(tuner.seeds) // tuner.parallel)
    freqs = [as_number(v, 0) for v in _space_values(space, "train.eval_freq")] or \
        [as_number(dotted_get(base, "train.eval_freq"), 0)]
    min_resource = int(min(freqs)) if min(freqs) > 0 else "auto"
    tuner.pruner = make_pruner(args, 0, min_resource, tuner.stride * n_batches)  # warm-up: Tuner.warmup, per trial
    tuner.worker = worker_identity(args.heartbeat)
    os.makedirs(args.results, exist_ok=True)
    signal.signal(signal.SIGINT, tuner.on_signal)
    signal.signal(signal.SIGTERM, tuner.on_signal)
    study = tuner.open_study(space, base)
    import optuna
    for v in enqueued:
        study.enqueue_trial(v, skip_if_exists=True)
    say(f"study {args.study_name} in {tuner.storage_label}: {len(study.trials)} trials so far; "
        f"seeds {','.join(map(str, tuner.seeds))} ({tuner.parallel} side by side"
        f"{f', OMP_NUM_THREADS={tuner.omp}' if tuner.omp and 'OMP_NUM_THREADS' not in os.environ else ''}), "
        f"{args.sampler} (seed {args.sampler_seed}), pruner {args.pruner}, objective {args.objective}; "
        f"runs in {args.results}")
    code = tuner.run(study, space, check)
    if code in (130, 143) and len(tuner.signals) > 1:
        return code
    try:
        tuner.report(study, pictures=not args.no_pictures and code == 0)
    except Exception as e:  # the study is in the storage; --report writes this again
        say(f"warning: the report could not be written ({type(e).__name__}: {e}); --report writes it from the storage")
    if code == 0:
        why = no_complete_trial(study)
        if why:
            fail(why, 1)
    return code


def _space_values(space, key):
    p = space.params.get(key)
    return list(p.probe_values()) if p is not None else []


def no_complete_trial(study):
    """Why the study has no complete trial (one line), or None when it has one: a study that
    measured nothing must not end as a success."""
    import optuna

    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("tune_over_budget")]
    if any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
        return None
    counts = {}
    for t in trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("tune_reason")]
    last = f"; the last failure: trial {failed[-1].number}: {failed[-1].user_attrs['tune_reason']}" if failed else ""
    return (f"no trial completed in the study {study.study_name} ("
            + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials") + f"){last}")


if __name__ == "__main__":
    sys.exit(main())

