#!/usr/bin/env python3
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
import ctypes
import datetime
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402

import tune_report  # noqa: E402
import tune_space  # noqa: E402

# Where `dodge train` cannot make its results folder: it then checks the whole config (file, --set,
# ranges, keys that go together) and stops with "cannot write the results folder" before any
# training when all is well, or with the config's own one-line error (training.cpp: load_configs,
# then make_run_folder).
NOWHERE = "/dev/null/dodge-tune-check"
DIST_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE")
OBJECTIVES = ("return", "time", "return,time")
SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("median", "percentile", "hyperband", "halving", "none")
MAX_ATTEMPTS = 3  # a trial stopped by a signal or a dead worker is retried with its values this often
POLL = 0.5
FAILURES_IN_A_ROW = 5  # then the worker stops (exit 1): a space or a machine that cannot train


class Exit(Exception):
    def __init__(self, code, message=""):
        super().__init__(message)
        self.code = code
        self.message = message


def fail(message, code=2):
    raise Exit(code, message)


def say(message):
    print(f"tune: {message}", flush=True)


# ---- the machine and the worker ---------------------------------------------------------------
def _proc_start(pid):
    """The process's start time in clock ticks since boot, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def worker_identity(heartbeat):
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _proc_start(os.getpid()),
            "boot": _boot_id(), "heartbeat_seconds": heartbeat}


def worker_gone(w, now, heartbeat_age):
    """Why the worker that holds a running trial is gone, or None while it may be alive."""
    me_host, me_boot = socket.gethostname(), _boot_id()
    if w.get("host") == me_host:
        if w.get("boot") and w.get("boot") != me_boot:
            return f"its worker ({w.get('host')} pid {w.get('pid')}) was on a previous boot"
        if _proc_start(w.get("pid")) != w.get("pid_start"):
            return f"its worker ({w.get('host')} pid {w.get('pid')}) is gone"
        return None
    grace = max(3 * float(w.get("heartbeat_seconds") or 60), 60)
    if heartbeat_age is not None and heartbeat_age > grace:
        return (f"its worker ({w.get('host')} pid {w.get('pid')}) sent no heartbeat for "
                f"{heartbeat_age:.0f} s (> {grace:.0f} s)")
    return None


_LIBC = None


def _child_setup(parent):
    """In the child before exec: its own process group (the worker forwards Ctrl-C exactly once),
    and SIGTERM when the worker dies, even by kill -9 (the trainer then checkpoints and exits)."""
    def setup():
        if _LIBC is not None:
            _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(143)
    return setup


def child_env(omp_threads):
    env = {k: v for k, v in os.environ.items() if k not in DIST_VARS}
    if omp_threads and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(omp_threads)
    return env


# ---- the config ---------------------------------------------------------------------------------
def error_line(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in reversed(lines):
        if "error" in l.lower():
            return l
    return lines[-1] if lines else "(no output)"


def strip_error(line):
    for p in ("dodge: error: ",):
        if line.startswith(p):
            line = line[len(p):]
    return line


class ConfigCheck:
    def __init__(self, dodge, config):
        self.dodge, self.config = dodge, config
        self.calls = 0

    def refused(self, sets):
        """None when `dodge train` accepts the config with these --set values; else its message."""
        cmd = [self.dodge, "train", "--config", self.config, "--results", NOWHERE]
        for s in sets:
            cmd += ["--set", s]
        self.calls += 1
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=child_env(1), timeout=300)
        except OSError as e:
            fail(f"--dodge {self.dodge}: cannot run it ({e.strerror})")
        if r.returncode == 2 and f"cannot write the results folder {NOWHERE}" in r.stdout:
            return None
        if r.returncode == 0:
            fail(f"{self.dodge} trained where it should only have checked the config; is it dodge?", 1)
        return strip_error(error_line(r.stdout))


def set_of(key, value):
    return f"{key}={tune_space.set_text(value)}"


def check_space(check, space, fixed, space_path):
    """Every bound and choice of the space through the binary, before any training."""
    msg = check.refused(fixed)
    if msg:
        fail(f"--config {check.config}{' with --set' if fixed else ''}: {msg}")
    probes = {k: p.probe_values() for k, p in space.params.items()}
    rounds = max((len(v) for v in probes.values()), default=0)
    for i in range(rounds):
        batch = {k: v[min(i, len(v) - 1)] for k, v in probes.items()}
        msg = check.refused(fixed + [set_of(k, v) for k, v in batch.items()])
        if not msg:
            continue
        # The one to blame: the message names a --set when a value alone is refused.
        for k, v in batch.items():
            if msg.startswith(f"--set {set_of(k, v)}:"):
                fail(f"{space_path}: {k}: {_what(space.params[k], v)}: {msg.split(': ', 1)[1]}")
        for k, v in batch.items():
            m = check.refused(fixed + [set_of(k, v)])
            if m:
                fail(f"{space_path}: {k}: {_what(space.params[k], v)}: {m.split(': ', 1)[1] if m.startswith('--set ') else m}")
        say(f"warning: {space_path}: together, {', '.join(set_of(k, v) for k, v in batch.items())} "
            f"are refused ({msg}); trials that draw such a combination fail with that message")


def _what(p, v):
    if p.type == "categorical":
        return f"choice {tune_space.set_text(v)}"
    return ("low" if v == p.low else "high" if v == p.high else "step's top") + f" {tune_space.set_text(v)}"


def dotted_set(d, key, value):
    parts = key.split(".")
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = value


def dotted_get(d, key, default=None):
    for p in key.split("."):
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def load_base(path, fixed):
    """The base config as PyYAML reads it, with the fixed --set values (enough to know what the
    tuner needs: total_timesteps, stop_when, max_minutes; the binary resolves the rest)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as e:
        fail(f"--config {path}: {e.strerror}")
    except yaml.YAMLError as e:
        fail(f"--config {path}: YAML syntax error: {e}")
    if not isinstance(data, dict):
        fail(f"--config {path}: expected a mapping with env:, sac:, train:")
    for s in fixed:
        k, _, v = s.partition("=")
        try:
            dotted_set(data, k, yaml.safe_load(v))
        except yaml.YAMLError:
            dotted_set(data, k, v)
    return data


def as_number(v, default=None):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


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


def make_pruner(args, warmup):
    import optuna

    if args.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=args.pruner_startup_trials, n_warmup_steps=warmup)
    if args.pruner == "percentile":
        return optuna.pruners.PercentilePruner(args.percentile, n_startup_trials=args.pruner_startup_trials,
                                               n_warmup_steps=warmup)
    if args.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if args.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


# ---- one seed of a trial ----------------------------------------------------------------------
class SeedRun:
    """`dodge train` for one seed, then `dodge eval` of its final/ on held-out games; both child
    processes, read through their files (evaluations.csv, training_summary.json, the eval JSON)."""

    def __init__(self, tuner, trial_dir, seed, sets, omp):
        self.t = tuner
        self.seed = seed
        self.dir = os.path.join(trial_dir, f"seed_{seed}")
        self.sets = sets
        self.omp = omp
        self.proc = None
        self.phase = "new"          # train -> eval -> done | failed | stopped
        self.run_dir = None
        self.evals = []             # [timesteps, mean, std, success]
        self._eval_pos = 0
        self._eval_buf = b""
        self.summary = None
        self.heldout = None
        self.error = None
        self.stop_sent = 0.0
        self.started = None
        self.train_seconds = None
        self.total_timesteps = None
        self.config_text = None

    def _spawn(self, cmd, log_name):
        os.makedirs(self.dir, exist_ok=True)
        log = open(os.path.join(self.dir, log_name), "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=child_env(self.omp), preexec_fn=_child_setup(os.getpid()),
                                         process_group=0)
        finally:
            log.close()

    def start(self):
        cmd = [self.t.args.dodge, "train", "--config", self.t.args.config, "--seed", str(self.seed),
               "--results", self.dir]
        for s in self.sets:
            cmd += ["--set", s]
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "command.txt"), "w") as f:
            f.write(" ".join(_quote(c) for c in cmd) + "\n")
        self._spawn(cmd, "train.log")
        self.started = time.monotonic()
        self.phase = "train"

    def active(self):
        return self.phase in ("train", "eval")

    def send(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self, sig=signal.SIGINT):
        """Ends the run early (pruned, interrupted): the trainer checkpoints and exits; no eval."""
        if self.phase == "eval":
            self.send(signal.SIGTERM)
        elif self.phase == "train":
            self.send(sig)
        self.stop_sent = self.stop_sent or time.monotonic()

    def _find_run_dir(self):
        if self.run_dir is None and os.path.isdir(self.dir):
            for name in sorted(os.listdir(self.dir)):
                sub = os.path.join(self.dir, name)
                if not os.path.isdir(sub):
                    continue
                for stamp in sorted(os.listdir(sub)):
                    if os.path.isfile(os.path.join(sub, stamp, "config.yaml")):
                        self.run_dir = os.path.join(sub, stamp)
                        return

    def _read_evals(self):
        """New complete rows of evaluations.csv (a line without its newline is still being written)."""
        if self.run_dir is None:
            return
        path = os.path.join(self.run_dir, "evaluations.csv")
        try:
            with open(path, "rb") as f:
                f.seek(self._eval_pos)
                data = f.read()
        except OSError:
            return
        self._eval_pos += len(data)
        data = self._eval_buf + data
        *lines, self._eval_buf = data.split(b"\n")
        for line in lines:
            cells = line.decode().strip().split(",")
            if not cells or not cells[0] or not cells[0][0].isdigit():
                continue  # the header
            try:
                t, m, sd = int(float(cells[0])), float(cells[1]), float(cells[2])
                k = float(cells[5]) if len(cells) > 5 else float("nan")
            except (ValueError, IndexError):
                continue
            self.evals.append([t, m, sd, k])

    def _read_config(self):
        if self.config_text is None and self.run_dir:
            try:
                with open(os.path.join(self.run_dir, "config.yaml")) as f:
                    text = f.read()
                cfg = yaml.safe_load(text) or {}
            except (OSError, yaml.YAMLError):
                return
            if isinstance(cfg, dict) and dotted_get(cfg, "train.total_timesteps") is not None:
                self.config_text = text
                self.config = cfg
                self.total_timesteps = int(as_number(dotted_get(cfg, "train.total_timesteps"), 0))

    def poll(self):
        if not self.active():
            return
        self._find_run_dir()
        self._read_config()
        self._read_evals()
        now = time.monotonic()
        m = self.t.args.minutes
        if self.phase == "train" and m and not self.stop_sent and now - self.started > m * 60 * 1.25 + 120:
            say(f"seed {self.seed}: still training {now - self.started:.0f} s after its start "
                f"(train.max_minutes={m}); stopping it")
            self.stop(signal.SIGINT)
        if self.stop_sent and now - self.stop_sent > 300:
            self.send(signal.SIGKILL)
        rc = self.proc.poll()
        if rc is None:
            return
        if self.phase == "train":
            self._find_run_dir()
            self._read_config()
            self._read_evals()
            if self._eval_buf:  # the last row, should it lack its newline
                self._eval_buf += b"\n"
                self._read_evals()
            self.train_seconds = now - self.started
            if self.run_dir and os.path.isfile(os.path.join(self.run_dir, "training_summary.json")):
                try:
                    with open(os.path.join(self.run_dir, "training_summary.json")) as f:
                        self.summary = json.load(f)
                except (OSError, ValueError):
                    self.summary = None
            if self.stop_sent:  # asked to stop (pruned, interrupted): however it ended, it is not a failure
                self.phase = "stopped"
                return
            if rc != 0:
                return self._fail_exit("train", rc)
            if self.run_dir is None:
                return self._fail(f"dodge train (seed {self.seed}) left no run folder in {self.dir}")
            target = os.path.join(self.run_dir, "final")
            self.heldout_of = "final" if os.path.isdir(target) else "newest checkpoint"
            if not os.path.isdir(target):
                target = self.run_dir
            cmd = [self.t.args.dodge, "eval", target, "--episodes", str(self.t.args.episodes),
                   "--json", os.path.join(self.dir, "heldout.json")]
            self._spawn(cmd, "eval.log")
            self.phase = "eval"
            return
        # eval done
        if self.stop_sent:
            self.phase = "stopped"
            return
        if rc != 0:
            return self._fail_exit("eval", rc)
        try:
            with open(os.path.join(self.dir, "heldout.json")) as f:
                ev = json.load(f)
        except (OSError, ValueError) as e:
            return self._fail(f"dodge eval (seed {self.seed}) wrote no readable JSON: {e}")
        self.heldout = {k: ev.get(k) for k in ("mean_return", "std_return", "success_rate", "seed", "step",
                                                "min_return", "max_return", "mean_length")}
        self.heldout["episodes"] = len(ev.get("episodes", []))
        self.heldout["of"] = self.heldout_of
        self.phase = "done"

    def _fail(self, error):
        self.phase = "failed"
        self.error = error

    def _fail_exit(self, what, rc):
        """dodge train/eval exited with rc: the failure names the error line of its log."""
        self._fail(f"dodge {what} (seed {self.seed}) exited with {rc}: " +
                   error_line(_tail(os.path.join(self.dir, f"{what}.log"))))

    def value_at(self, t):
        for e in self.evals:
            if e[0] == t:
                return e
        return None

    def bar_seconds(self):
        s = self.summary or {}
        if s.get("stopped") == "stop_when":
            return s.get("duration_seconds")
        return None

    def record(self):
        s = self.summary or {}
        return {"seed": self.seed, "run_dir": self.run_dir, "phase": self.phase, "evals": self.evals,
                "heldout": self.heldout, "stopped": s.get("stopped"), "stop_reason": s.get("stop_reason"),
                "train_seconds": s.get("duration_seconds", self.train_seconds),
                "total_timesteps": s.get("total_timesteps"), "bar_seconds": self.bar_seconds(),
                "host": socket.gethostname(), "error": self.error}


def _tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - n))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _quote(s):
    return s if s and all(c.isalnum() or c in "-_./=:,+@[]" for c in s) else "'" + s.replace("'", "'\\''") + "'"


# ---- the tuner ----------------------------------------------------------------------------------
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
        import optuna

        url = self.args.storage
        if "://" in url:
            self.storage_label = _redact(url)
            kw = {}
            if url.startswith("sqlite"):
                say("warning: SQLite is for one machine: its locks fail on NFS; use PostgreSQL or a journal "
                    "file for several machines")
            kw = {"heartbeat_interval": int(self.args.heartbeat), "grace_period": int(3 * self.args.heartbeat + 60),
                  "heartbeat_stale_trial_callback": self.on_stale_by_heartbeat}
            import random
            import sqlalchemy.exc

            for attempt in range(10):
                try:
                    self.rdb = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, **kw)
                    break
                except (sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError) as e:
                    # Workers that start together on an empty database race to create Optuna's
                    # tables ("relation ... already exists"): the loser opens what the winner made.
                    if attempt == 9:
                        fail(f"--storage {self.storage_label}: cannot open it: {type(e).__name__}: "
                             f"{str(e).splitlines()[0]}", 1)
                    time.sleep(0.5 + 2 * random.random())
                except Exception as e:
                    fail(f"--storage {self.storage_label}: cannot open it: {type(e).__name__}: "
                         f"{str(e).splitlines()[0]}", 1)
            return self.rdb
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        self.storage_label = url
        if self.args.report and not os.path.isfile(url):
            fail(f"--storage {url}: no such journal file")
        d = os.path.dirname(os.path.abspath(url))
        try:
            os.makedirs(d, exist_ok=True)
            return JournalStorage(JournalFileBackend(url))
        except OSError as e:
            fail(f"--storage {url}: {e.strerror}", 1)

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
                fail(f"--study-name {a.study_name}: the study in {self.storage_label} was started with another "
                     f"{' and '.join(diff)} (see its user attribute tune_setup); continue it with the same "
                     "--config, --space, --set, --seeds, --minutes, --episodes and --objective, or use another "
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
                age = None if self.rdb is not None or hb is None else now - float(hb)
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
            if self.rdb is not None:
                self.rdb.record_heartbeat(trial._trial_id)
            else:
                study._storage.set_trial_user_attr(trial._trial_id, "tune_heartbeat", time.time())
        except Exception as e:  # a storage hiccup is not a reason to stop the runs
            say(f"warning: heartbeat not recorded: {type(e).__name__}: {e}")

    def warmup(self, study, n_batches):
        """This trial's pruning warm-up (pruner_warmup), on its step axis: the first batch of seeds."""
        import optuna

        if self.args.pruner not in ("median", "percentile"):
            return 0  # Hyperband and successive halving have their own schedule
        reached = [max(t.intermediate_values) / n_batches
                   for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                   if t.intermediate_values]
        return pruner_warmup(self.args.pruner_warmup_steps, self.total_timesteps, self.time_bounded, reached)

    def run_trial(self, study, trial, sets):
        import optuna

        a = self.args
        trial_dir = os.path.join(a.results, f"trial_{trial.number:04d}")
        batches = [self.seeds[i:i + self.parallel] for i in range(0, len(self.seeds), self.parallel)]
        multi = len(study.directions) > 1
        runs_all = []
        warmup = self.warmup(study, len(batches))
        offset = 0
        pruned_at = None
        error = None
        last_value = None
        for batch in batches:
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
                    if offset + t >= warmup and trial.should_prune():
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
            offset += max(max((r.total_timesteps or 0) for r in runs), max((e[0] for r in runs for e in r.evals), default=0))
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
        res = self.aggregate(runs_all)
        st.set_trial_user_attr(trial._trial_id, "tune_result", res)
        if a.objective == "return":
            values = [res["iqm_return"]]
        elif a.objective == "time":
            values = [res["iqm_par2_seconds"]]
        else:
            values = [res["iqm_return"], res["iqm_par2_seconds"]]
        if any(v is None or not math.isfinite(v) for v in values):
            st.set_trial_user_attr(trial._trial_id, "tune_reason", f"no objective value: {res}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            say(f"trial {trial.number}: failed: no objective value ({res})")
            return "failed"
        study.tell(trial, values)
        ci = res["iqm_return_ci95"]
        extra = ""
        if res.get("iqm_par2_seconds") is not None:
            extra = f", {res['bar_reached']}/{len(runs_all)} reached the bar, PAR-2 IQM {res['iqm_par2_seconds']:.0f} s"
        say(f"trial {trial.number}: held-out return IQM {res['iqm_return']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}] "
            f"over seeds {','.join(str(r.seed) for r in runs_all)} "
            f"({', '.join('%.1f' % r.heldout['mean_return'] for r in runs_all)}){extra}; {secs:.0f} s of training")
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

    def aggregate(self, runs):
        rets = [r.heldout["mean_return"] for r in runs]
        succ = [r.heldout["success_rate"] for r in runs]
        res = {"iqm_return": tune_report.iqm(rets), "iqm_return_ci95": tune_report.iqm_interval(rets),
               "iqm_success": tune_report.iqm(succ), "returns": rets, "success": succ,
               "heldout_seeds": [r.heldout.get("seed") for r in runs],
               "heldout_episodes": runs[0].heldout.get("episodes")}
        bars = [r.bar_seconds() for r in runs]
        res["bar_reached"] = sum(b is not None for b in bars)
        budget = None
        cfg = getattr(runs[0], "config", None) or {}
        mm = as_number(dotted_get(cfg, "train.max_minutes"), 0.0)
        if mm and dotted_get(cfg, "train.stop_when"):
            budget = mm * 60
        res["iqm_bar_seconds"] = tune_report.iqm(bars) if all(b is not None for b in bars) else None
        if budget:
            # PAR-2 (algorithm configuration's penalised run time): a seed that missed the bar
            # counts twice the budget.
            par2 = [b if b is not None else 2 * budget for b in bars]
            res["iqm_par2_seconds"] = tune_report.iqm(par2)
            res["par2_seconds"] = par2
        else:
            res["iqm_par2_seconds"] = None
        return res

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
            ci = best["iqm_return_ci95"] or [float("nan")] * 2
            lines.append(f"best: trial {best['number']}: held-out return IQM {best['iqm_return']:.2f} "
                         f"[{ci[0]:.2f}, {ci[1]:.2f}]: "
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


def _redact(url):
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        if ":" in cred:
            return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}"
    return url


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
    p = argparse.ArgumentParser(prog="scripts/tune.sh", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Search space file: see scripts/python/tune_space.py or README.md (Tuning).")
    p.add_argument("--config", help="the base config (YAML)")
    p.add_argument("--space", help="the search space (YAML: config key -> {type: float|int|categorical, ...})")
    p.add_argument("--study-name", help="the study's name (default: the --config file's name)")
    p.add_argument("--storage", help="a journal file (default RESULTS/study.journal), or an SQLAlchemy URL "
                                     "(postgresql://user:pass@host/db, mysql://..., sqlite:///file.db)")
    p.add_argument("--results", help="where the runs, the table, best.yaml and the pictures go "
                                     "(default results/tune/STUDY_NAME)")
    p.add_argument("--trials", type=int, help="trials this worker runs (default: until a budget below ends the study)")
    p.add_argument("--max-total-trials", type=int, help="trials over all workers (failed ones are run again)")
    p.add_argument("--study-minutes", type=float, help="wall-clock minutes for the whole study, from its creation: "
                                                       "no trial starts that could not end in them")
    p.add_argument("--seeds", default="0,1,2", help="training seeds of every trial (default 0,1,2)")
    p.add_argument("--minutes", type=float, default=0.0, help="minutes per training (train.max_minutes); 0: the config's")
    p.add_argument("--parallel", default="1", help="seeds trained side by side: N or auto (the cores; "
                                                   "OMP_NUM_THREADS = cores / N each); default 1")
    p.add_argument("--episodes", type=int, default=100, help="held-out evaluation episodes per seed (default 100)")
    p.add_argument("--objective", default="return", help="return (the held-out return's IQM, maximised; ties go "
                   "to the faster trial) | time (seconds to the config's stop rule, PAR-2, minimised) | "
                   "return,time (both: a Pareto front, no pruning)")
    p.add_argument("--sampler", default="tpe", help=f"{' | '.join(SAMPLERS)} (default tpe, multivariate)")
    p.add_argument("--sampler-seed", type=int, default=0, help="the sampler's seed (default 0): the same seed "
                   "proposes the same values")
    p.add_argument("--n-startup-trials", type=int, default=10, help="random trials before TPE / CMA-ES (default 10)")
    p.add_argument("--pruner", default="median", help=f"{' | '.join(PRUNERS)} (default median)")
    p.add_argument("--pruner-startup-trials", type=int, default=5,
                   help="finished trials before the median / percentile pruner prunes (default 5)")
    p.add_argument("--pruner-warmup-steps", type=int, help="env steps (over the trial's runs) before pruning "
                   "(default: a third of a run's total_timesteps, or, when --minutes or "
                   "train.max_minutes ends the runs first, of the median step complete trials reached)")
    p.add_argument("--percentile", type=float, default=25.0, help="the percentile pruner's percentile (default 25)")
    p.add_argument("--enqueue", action="append", default=[], metavar="JSON|FILE",
                   help="values to try first, {\"sac.learning_rate\": 0.0003, ...} (repeatable; skipped when a "
                        "trial with them exists)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed override of every run")
    p.add_argument("--heartbeat", type=float, default=60.0, help="seconds between a running trial's heartbeats "
                   "(default 60; a trial of another machine is failed after 3 missed ones)")
    p.add_argument("--dodge", default=os.path.join(ROOT, "build", "dodge"), help="the dodge binary")
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
    global _LIBC
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
    if not args.storage:
        args.storage = os.path.join(args.results, "study.journal")
    args.results = os.path.abspath(args.results)  # the table's run folders, from any working directory
    if args.objective not in OBJECTIVES:
        fail(f"--objective {args.objective}: allowed: {', '.join(OBJECTIVES)}")
    if args.sampler not in SAMPLERS:
        fail(f"--sampler {args.sampler}: allowed: {', '.join(SAMPLERS)}")
    if args.pruner not in PRUNERS:
        fail(f"--pruner {args.pruner}: allowed: {', '.join(PRUNERS)}")
    for name in ("trials", "max_total_trials", "episodes", "n_startup_trials"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "n_startup_trials" else 1):
            fail(f"--{name.replace('_', '-')} {v}: must be {'>= 0' if name == 'n_startup_trials' else '>= 1'}")
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
    if not os.access(args.dodge, os.X_OK):
        fail(f"--dodge {args.dodge}: not an executable (build first: scripts/build.sh)")
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

    try:
        _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        _LIBC = None
    tuner.total_timesteps = tt
    tuner.time_bounded = bool(args.minutes or as_number(dotted_get(base, "train.max_minutes"), 0))
    tuner.sampler = make_sampler(args, multi=args.objective == "return,time")
    tuner.pruner = make_pruner(args, 0)  # the warm-up is Tuner.warmup's, per trial
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
    return code


if __name__ == "__main__":
    sys.exit(main())
