"""The study: the sampler, the pruner and its warm-up, the loop that asks, runs and tells trials,
the signals, stale trials of dead workers, and the report at the end."""
import datetime
import json
import math
import os
import signal
import sys
import time
import warnings

from . import report as tune_report
from . import space as tune_space
from . import stats, storage
from .common import MAX_ATTEMPTS, POLL, FAILURES_IN_A_ROW, as_number, dotted_get, fail, say, set_of
from .runs import SeedRun
from .workers import worker_gone

# ---- the sampler ------------------------------------------------------------------------------
def make_sampler(args, multi):
    import numpy as np
    import optuna

    def inner(seed):
        if args.sampler == "tpe":
            return optuna.samplers.TPESampler(n_startup_trials=args.n_startup_trials, seed=seed, multivariate=True,
                                              group=True, constant_liar=True)
        if args.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if args.sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=args.n_startup_trials)
        return optuna.samplers.NSGAIISampler(seed=seed)

    class PerTrialSeed(optuna.samplers.BaseSampler):
        """The sampler, seeded anew for each trial from (--sampler-seed, trial number): a study
        replays its proposals, and workers that share a study never draw the same ones."""

        def __init__(self):
            self.current = inner(args.sampler_seed)

        def before_trial(self, study, trial):
            seed = int(np.random.SeedSequence([args.sampler_seed, trial.number]).generate_state(1)[0])
            self.current = inner(seed)
            self.current.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self.current.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self.current.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self.current.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self.current.after_trial(study, trial, state, values)

        def reseed_rng(self):
            self.current.reseed_rng()

    return PerTrialSeed()


def pruner_warmup(explicit, total_timesteps, time_bounded, reached):
    """Steps before the median / percentile pruner may prune: --pruner-warmup-steps, else a third
    of a run's total_timesteps, as RL Zoo. When a time budget ends the runs first (--minutes,
    train.max_minutes), a third of that would never come and nothing would be pruned: then a third
    of the median step a complete trial's runs reached (REACHED, one per complete trial; before
    any, the pruner's startup trials keep it from pruning anyway)."""
    if explicit is not None:
        return int(explicit)
    warmup = int(total_timesteps // 3)
    if time_bounded and reached:
        r = sorted(reached)
        mid = len(r) // 2
        median = r[mid] if len(r) % 2 else (r[mid - 1] + r[mid]) / 2
        warmup = min(warmup, int(median // 3))
    return warmup


def make_pruner(args, warmup, min_resource=1, max_resource="auto"):
    """The pruner. Hyperband's and successive halving's resources are on the step axis the trial
    reports (env steps: MIN_RESOURCE one evaluation, train.eval_freq; MAX_RESOURCE a trial's
    whole axis), not Optuna's default of 1, which would put every early rung before the first
    evaluation."""
    import optuna

    if args.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=args.pruner_startup_trials, n_warmup_steps=warmup)
    if args.pruner == "percentile":
        return optuna.pruners.PercentilePruner(args.percentile, n_startup_trials=args.pruner_startup_trials,
                                               n_warmup_steps=warmup)
    if args.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource)
    if args.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource)
    return optuna.pruners.NopPruner()


# ---- the tuner ----------------------------------------------------------------------------------
# tune_setup's keys as the options that set them, for the one-line refusal of a changed restart.
SETUP_NAMES = {"space": "--space", "config": "--config (with --set)", "seeds": "--seeds", "minutes": "--minutes",
               "episodes": "--eval-episodes", "objective": "--objective", "set": "--set",
               "parallel": "--parallel", "omp_threads": "OMP_NUM_THREADS", "step_stride": "train.total_timesteps"}


class Tuner:
    def __init__(self, args):
        self.args = args
        self.signals = []
        self.active_runs = []
        self.rdb = None
        self.ran = 0

    # signals: a flag (never an exception inside a storage write) and the same signal to the runs
    def on_signal(self, sig, frame):
        self.signals.append(sig)
        if len(self.signals) == 1:
            print(f"\ntune: {signal.Signals(sig).name}: stopping the running trial (its runs checkpoint "
                  "and exit; again to abort them)", file=sys.stderr, flush=True)
        for r in self.active_runs:
            if r.phase == "train":
                r.send(sig)
                r.stop_sent = r.stop_sent or time.monotonic()
            elif r.phase == "eval":
                r.send(signal.SIGTERM)
                r.stop_sent = r.stop_sent or time.monotonic()

    def stop_code(self):
        return 143 if self.signals and self.signals[0] == signal.SIGTERM else 130

    # ---- storage and study --------------------------------------------------------------------
    def open_storage(self):
        store, self.rdb, self.storage_label = storage.open_storage(
            self.args.storage, self.args.heartbeat, self.on_stale_by_heartbeat, report_only=self.args.report)
        return store

    def setup_attrs(self, space, base):
        a = self.args
        return {
            "space": json.loads(space.fingerprint()),
            "config": json.loads(json.dumps(base, sort_keys=True, default=str)),
            "seeds": self.seeds,
            "minutes": a.minutes,
            "episodes": a.episodes,
            "objective": a.objective,
            "set": a.set,
            # What changes what a trial measures, beyond the config: runs side by side share the
            # cores (and their thread count), and the step axis the pruner compares trials on.
            "parallel": self.parallel,
            "omp_threads": os.environ.get("OMP_NUM_THREADS") or (str(self.omp) if self.omp else ""),
            "step_stride": self.stride,
        }

    def open_study(self, space=None, base=None, create=True):
        import optuna

        a = self.args
        storage = self.open_storage()
        directions = {"return": ["maximize"], "time": ["minimize"], "return,time": ["maximize", "minimize"]}
        if not create:
            try:
                return optuna.load_study(study_name=a.study_name, storage=storage)
            except KeyError:
                fail(f"--study-name {a.study_name}: no such study in {self.storage_label}")
        try:
            study = optuna.create_study(study_name=a.study_name, storage=storage, load_if_exists=True,
                                        directions=directions[a.objective], sampler=self.sampler,
                                        pruner=self.pruner)
        except ValueError as e:
            fail(f"--study-name {a.study_name}: {e}")
        if [d.name.lower() for d in study.directions] != directions[a.objective]:
            fail(f"--study-name {a.study_name}: the study in {self.storage_label} has directions "
                 f"{[d.name.lower() for d in study.directions]}, --objective {a.objective} needs "
                 f"{directions[a.objective]}; use another --study-name")
        setup = self.setup_attrs(space, base)
        old = study.user_attrs.get("tune_setup")
        if old is None:
            study.set_user_attr("tune_setup", setup)
            study.set_user_attr("tune_created", time.time())
            study.set_user_attr("tune_sampler", {"sampler": a.sampler, "seed": a.sampler_seed,
                                                 "pruner": a.pruner})
        else:
            diff = [k for k in setup if json.dumps(old.get(k), sort_keys=True) != json.dumps(setup[k], sort_keys=True)]
            if diff:
                said = ", ".join(f"{SETUP_NAMES.get(k, k)} {json.dumps(old.get(k))} (now {json.dumps(setup[k])})"
                                 for k in diff if k not in ("config", "space"))
                said = ", ".join(x for x in (said, *(SETUP_NAMES[k] for k in diff if k in ("config", "space"))) if x)
                fail(f"--study-name {a.study_name}: the study in {self.storage_label} was started with another "
                     f"{said} (its user attribute tune_setup); continue it with the same settings, or use another "
                     "--study-name")
        return study

    def on_stale_by_heartbeat(self, study, trial):
        self._retry(study, trial, "its worker's heartbeat stopped (Optuna's heartbeat)", already_failed=True)

    def _retry(self, study, trial, why, already_failed=False):
        import optuna

        storage = study._storage
        if not already_failed:
            try:
                storage.set_trial_user_attr(trial._trial_id, "tune_reason", why)
                if not storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL):
                    return
            except (optuna.exceptions.UpdateFinishedTrialError, KeyError, RuntimeError):
                return
        say(f"trial {trial.number} marked failed: {why}")
        self._requeue(study, trial)

    @staticmethod
    def _requeue(study, trial):
        """A trial that failed through no fault of its values runs them again, up to MAX_ATTEMPTS."""
        attempt = int(trial.user_attrs.get("tune_attempt", 1))
        if trial.params and attempt < MAX_ATTEMPTS:
            study.enqueue_trial(trial.params, user_attrs={"tune_retry_of": trial.number, "tune_attempt": attempt + 1})
            say(f"trial {trial.number}'s values are queued again (attempt {attempt + 1} of {MAX_ATTEMPTS}): "
                "the next start runs them first")

    def recover_stale(self, study):
        """Running trials whose worker is gone (killed with -9, a machine lost): failed, their values
        queued again. Same host: the worker's pid; elsewhere: its heartbeat."""
        import optuna

        if self.rdb is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)
        now = time.time()
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if t.number == getattr(self, "current_number", None):
                continue
            w = t.user_attrs.get("tune_worker")
            why = None
            if w:
                hb = t.user_attrs.get("tune_heartbeat")
                age = None if hb is None else now - float(hb)
                why = worker_gone(w, now, age)
            elif t.datetime_start is not None:
                age = (datetime.datetime.now() - t.datetime_start).total_seconds()
                if age > max(3 * self.args.heartbeat, 60) + 60:
                    why = f"it was asked {age:.0f} s ago by a worker that never claimed it"
            if why:
                self._retry(study, t, why)

    # ---- budgets ----------------------------------------------------------------------------
    def counted(self, study, upto=None):
        """Trials that count against --max-total-trials: all but the failed ones (a failed trial is
        retried) and the over-budget placeholders, numbered up to UPTO."""
        import optuna

        n = 0
        for t in study.get_trials(deepcopy=False):
            if t.state == optuna.trial.TrialState.FAIL:
                continue
            if upto is not None and t.number > upto:
                continue
            if t.state == optuna.trial.TrialState.WAITING and upto is None:
                continue
            n += 1
        return n

    def why_stop(self, study):
        a = self.args
        if a.trials is not None and self.ran >= a.trials:
            return f"this worker ran its {a.trials} trial(s) (--trials)"
        if a.max_total_trials is not None:
            import optuna
            waiting = any(t.state == optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))
            if self.counted(study) >= a.max_total_trials and not waiting:
                return f"the study has its {a.max_total_trials} trials (--max-total-trials)"
        if a.study_minutes is not None:
            created = float(study.user_attrs.get("tune_created", time.time()))
            left = created + a.study_minutes * 60 - time.time()
            need = self.trial_estimate(study)
            if left <= need:
                return (f"the study's {a.study_minutes} minutes (--study-minutes) leave {max(left, 0) / 60:.1f} "
                        f"min, under a trial's {need / 60:.1f} min")
        return None

    def trial_estimate(self, study):
        import optuna
        a = self.args
        if a.minutes:
            batches = math.ceil(len(self.seeds) / self.parallel)
            return batches * a.minutes * 60
        secs = sorted((t.datetime_complete - t.datetime_start).total_seconds()
                      for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        return secs[len(secs) // 2] if secs else 0.0

    # ---- a trial ----------------------------------------------------------------------------
    def run(self, study, space, check):
        import optuna

        a = self.args
        fixed = list(a.set)
        tuner_sets = []
        if a.minutes:
            tuner_sets.append(f"train.max_minutes={tune_space.set_text(float(a.minutes))}")
        if self.no_buffer:
            tuner_sets.append("train.save_replay_buffer=false")
        failures_in_a_row = 0
        while True:
            if self.signals:
                return self.stop_code()
            self.recover_stale(study)
            why = self.why_stop(study)
            if why:
                say(f"done: {why}")
                return 0
            trial = study.ask()
            self.current_number = trial.number
            if a.max_total_trials is not None and self.counted(study, upto=trial.number) > a.max_total_trials:
                study._storage.set_trial_user_attr(trial._trial_id, "tune_over_budget", True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                say(f"done: the study has its {a.max_total_trials} trials (--max-total-trials; trial "
                    f"{trial.number}, asked at the same time as another worker's last, is not run)")
                return 0
            attempt = int(trial.user_attrs.get("tune_attempt", 1))
            study._storage.set_trial_user_attr(trial._trial_id, "tune_worker", self.worker)
            self.beat(study, trial, force=True)
            values = space.suggest(trial)
            sets = fixed + [set_of(k, v) for k, v in values.items()] + tuner_sets
            study._storage.set_trial_user_attr(trial._trial_id, "tune_values", values)
            study._storage.set_trial_user_attr(trial._trial_id, "tune_set", [set_of(k, v) for k, v in values.items()])
            study._storage.set_trial_user_attr(trial._trial_id, "tune_omp_threads",
                                               os.environ.get("OMP_NUM_THREADS") or (str(self.omp) if self.omp else ""))
            shown = " ".join(set_of(k, v) for k, v in values.items()) or "(no values)"
            retry = f" (attempt {attempt}: trial {trial.user_attrs.get('tune_retry_of')}'s values again)" if attempt > 1 else ""
            say(f"trial {trial.number}{retry}: {shown}")
            msg = check.refused(sets)
            self.ran += 1
            if msg and not self.signals:  # (a Ctrl-C also stops the check: run_trial says so)
                study._storage.set_trial_user_attr(trial._trial_id, "tune_reason", f"config refused: {msg}")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                say(f"trial {trial.number}: failed: the config is refused: {msg}")
                self.write_table(study)
                failures_in_a_row += 1
                if failures_in_a_row >= FAILURES_IN_A_ROW:
                    say(f"stopping: {FAILURES_IN_A_ROW} trials in a row failed")
                    return 1
                continue
            state = self.run_trial(study, trial, sets)
            self.current_number = None
            self.write_table(study)
            if state == "interrupted":
                return self.stop_code()
            if state == "failed":
                failures_in_a_row += 1
                if failures_in_a_row >= FAILURES_IN_A_ROW:
                    say(f"stopping: {FAILURES_IN_A_ROW} trials in a row failed (see their train.log)")
                    return 1
            else:
                failures_in_a_row = 0

    def beat(self, study, trial, force=False):
        now = time.monotonic()
        if not force and now - getattr(self, "_last_beat", 0) < self.args.heartbeat:
            return
        self._last_beat = now
        try:
            if self.rdb is not None:  # Optuna's own, for optuna-dashboard and fail_stale_trials
                self.rdb.record_heartbeat(trial._trial_id)
            # Ours, on every storage: how workers on other machines judge this one (workers.worker_gone)
            study._storage.set_trial_user_attr(trial._trial_id, "tune_heartbeat", time.time())
        except Exception as e:  # a storage hiccup is not a reason to stop the runs
            say(f"warning: heartbeat not recorded: {type(e).__name__}: {e}")

    def warmup(self, study):
        """This trial's pruning warm-up on a run's own step axis (each batch of seeds starts a run
        at step 0): --pruner-warmup-steps, else pruner_warmup's third of total_timesteps or of the
        median step the runs of complete trials reached."""
        import optuna

        if self.args.pruner not in ("median", "percentile"):
            return 0  # Hyperband and successive halving have their own schedule
        reached = []
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            for s in self.seeds:
                ev = (t.user_attrs.get(f"tune_seed_{s}") or {}).get("evals") or []
                if ev:
                    reached.append(ev[-1][0])
        return pruner_warmup(self.args.pruner_warmup_steps, self.total_timesteps, self.time_bounded, reached)

    def run_trial(self, study, trial, sets):
        import optuna

        a = self.args
        trial_dir = os.path.join(a.results, f"trial_{trial.number:04d}")
        batches = [self.seeds[i:i + self.parallel] for i in range(0, len(self.seeds), self.parallel)]
        multi = len(study.directions) > 1
        runs_all = []
        warmup = self.warmup(study)
        pruned_at = None
        error = None
        last_value = None
        for b, batch in enumerate(batches):
            # The step axis: batch b's runs report at b * stride + their step, the same for every
            # trial (stride: the largest total_timesteps a trial may have), so trials are compared
            # on the same seeds at the same step, and the warm-up counts within each run.
            offset = b * self.stride
            runs = [SeedRun(self, trial_dir, s, sets, self.omp) for s in batch]
            runs_all += runs
            self.active_runs = runs
            for r in runs:
                if not self.signals:
                    r.start()
            reported = set()
            while any(r.active() for r in runs):
                time.sleep(POLL)
                for r in runs:
                    r.poll()
                self.beat(study, trial)
                if self.signals or pruned_at is not None:
                    continue
                bad = [r for r in runs if r.phase == "failed"]
                if bad:
                    error = bad[0].error
                    for r in runs:
                        r.stop()
                    continue
                if multi:
                    continue
                # Intermediate values: each evaluation step that every run of the batch has reached
                # (a run that ended before it, by its stop rule, keeps its last value), in order.
                steps = sorted({e[0] for r in runs for e in r.evals} - reported)
                for t in steps:
                    vals = []
                    for r in runs:
                        e = r.value_at(t)
                        if e is None:
                            if r.phase == "train" or not r.evals:
                                vals = None
                                break
                            e = r.evals[-1]
                        vals.append(self.intermediate(e, r))
                    if vals is None:
                        break
                    reported.add(t)
                    last_value = sum(vals) / len(vals)
                    trial.report(last_value, offset + t)
                    if t >= warmup and trial.should_prune():
                        pruned_at = offset + t
                        for r in runs:
                            r.stop()
                        break
            self.active_runs = []
            bad = [r for r in runs if r.phase == "failed"]
            if bad and error is None:
                error = bad[0].error
            if self.signals or pruned_at is not None or error:
                break
        # What the storage keeps of each seed, then the verdict.
        st = study._storage
        for r in runs_all:
            st.set_trial_user_attr(trial._trial_id, f"tune_seed_{r.seed}", r.record())
        first = next((r for r in runs_all if r.config_text), None)
        if first is not None:
            st.set_trial_user_attr(trial._trial_id, "tune_config_yaml", first.config_text)
        secs = sum(r.train_seconds or 0 for r in runs_all)
        if self.signals:
            st.set_trial_user_attr(trial._trial_id, "tune_reason",
                                   f"stopped by {signal.Signals(self.signals[0]).name} (its folders kept in {trial_dir})")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"trial {trial.number}: failed: stopped by {signal.Signals(self.signals[0]).name}; its runs are in "
                f"{trial_dir}")
            self._requeue(study, trial)
            return "interrupted"
        if error:
            st.set_trial_user_attr(trial._trial_id, "tune_reason", error)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"trial {trial.number}: failed: {error}")
            return "failed"
        if pruned_at is not None:
            st.set_trial_user_attr(trial._trial_id, "tune_pruned_at_step", pruned_at)
            st.set_trial_user_attr(trial._trial_id, "tune_reason",
                                   f"pruned ({a.pruner}) at step {pruned_at}: {last_value:.4g}")
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            say(f"trial {trial.number}: pruned at step {pruned_at} (intermediate value {last_value:.4g}; "
                f"{secs:.0f} s of training)")
            return "pruned"
        res = stats.aggregate(runs_all, self.budget_seconds(runs_all))
        if res.get("error"):
            st.set_trial_user_attr(trial._trial_id, "tune_reason", res["error"])
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"trial {trial.number}: failed: {res['error']}")
            return "failed"
        st.set_trial_user_attr(trial._trial_id, "tune_result", res)
        if a.objective == "return":
            values = [res["return"]]
        elif a.objective == "time":
            values = [res["iqm_par2_seconds"]]
        else:
            values = [res["return"], res["iqm_par2_seconds"]]
        if any(v is None or not math.isfinite(v) for v in values):
            st.set_trial_user_attr(trial._trial_id, "tune_reason", f"no objective value: {res}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"trial {trial.number}: failed: no objective value ({res})")
            return "failed"
        study.tell(trial, values)
        extra = ""
        if res.get("iqm_par2_seconds") is not None:
            extra = (f", {res['bar_reached']}/{len(runs_all)} reached the bar (stopped: {', '.join(map(str, res['stopped']))}), "
                     f"PAR-2 {res['statistic']} {res['iqm_par2_seconds']:.0f} s")
        say(f"trial {trial.number}: {stats.describe(res)} over seeds {','.join(str(r.seed) for r in runs_all)}"
            f"{extra}; {secs:.0f} s of training")
        return "complete"

    def intermediate(self, e, run):
        """An evaluation as the pruner reads it: its mean return; with --objective time, how far it
        is below the bar (lower is better, as the objective)."""
        if self.args.objective != "time":
            return e[1]
        bar = dotted_get(getattr(run, "config", {}) or {}, "train.stop_when") or {}
        if "mean_reward" in bar:
            return float(bar["mean_reward"]) - e[1]
        return float(bar.get("success_rate", 1.0)) - e[3]

    @staticmethod
    def budget_seconds(runs):
        """A run's time budget when the config has a bar (train.stop_when), for PAR-2."""
        cfg = getattr(runs[0], "config", None) or {}
        mm = as_number(dotted_get(cfg, "train.max_minutes"), 0.0)
        return mm * 60 if mm and dotted_get(cfg, "train.stop_when") else None

    # ---- report -----------------------------------------------------------------------------
    def write_table(self, study):
        seeds, keys = self.report_shape(study)
        try:
            rows = tune_report.trial_rows(study, seeds)
            tune_report.write_table(rows, seeds, keys, self.args.results)
        except OSError as e:
            say(f"warning: the table could not be written: {e}")

    def report_shape(self, study):
        setup = study.user_attrs.get("tune_setup") or {}
        seeds = setup.get("seeds") or []
        keys = list((setup.get("space") or {}).keys())
        return seeds, keys

    def report(self, study, pictures=True):
        a = self.args
        seeds, keys = self.report_shape(study)
        objective = (study.user_attrs.get("tune_setup") or {}).get("objective", "return")
        rows = tune_report.trial_rows(study, seeds)
        tune_report.write_table(rows, seeds, keys, a.results)
        best = tune_report.best_row(rows, objective)
        lines = [f"table: {os.path.join(a.results, 'trials.csv')} (and trials.json): {len(rows)} trials, "
                 + ", ".join(f"{n} {s}" for s, n in _count(r["state"] for r in rows))]
        if best is not None:
            path = tune_report.write_best(study, best, seeds, a.results, f"{a.study_name} ({self.storage_label})")
            lines.append(f"best: trial {best['number']}: {tune_report.describe_row(best)}: "
                         + " ".join(set_of(k, v) for k, v in best["params"].items()))
            if path:
                lines.append(f"best config: {path}  (dodge train --config {path})")
        if pictures:
            for name, what in tune_report.write_pictures(study, rows, best, objective, a.results).items():
                lines.append(f"picture {name}: {what}")
        for l in lines:
            say(l)


def _count(items):
    out = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return sorted(out.items())

