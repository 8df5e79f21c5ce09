"""Launching `dodge train` / `dodge eval` and reading what they write: the binary, the config check
through it, and one seed of a trial (SeedRun)."""
import json
import os
import signal
import socket
import subprocess
import time

import yaml

from . import space as tune_space
from .common import NOWHERE, DIST_VARS, as_number, dotted_get, dotted_set, fail, say, set_of
from .storage import ENV_VAR as STORAGE_ENV_VAR

def _libc():
    import ctypes
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()
# A run still training this long after its train.max_minutes (x 1.25) is stopped by the watchdog
# and its trial fails; an environment variable so that a test need not wait two minutes.
WATCHDOG_SLACK = float(os.environ.get("DODGE_TUNE_WATCHDOG_SLACK", "120"))
KILL_AFTER = 300.0  # seconds from the one stop signal to SIGKILL: a checkpoint has that long
# A plateau as an older binary words it, when it still wrote stopped: stop_when for both rules.
PLATEAU_REASON = "evaluations in a row without a new best"


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
    env = {k: v for k, v in os.environ.items() if k not in DIST_VARS and k != STORAGE_ENV_VAR}
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


# ---- one seed of a trial ----------------------------------------------------------------------
class SeedRun:
    """`dodge train` for one seed, then `dodge eval` of its final/ on held-out games; both child
    processes, read through their files (evaluations.csv, training_summary.json, the eval JSON)."""

    def __init__(self, tuner, trial_dir, seed, sets, omp):
        self.t = tuner
        self.seed = seed
        self.dir = fresh_dir(trial_dir, f"seed_{seed}")
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
        self.killed = False
        self.watchdog = None
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
        """Ends the run early (pruned, interrupted, a sibling failed): one signal, then the trainer
        has KILL_AFTER seconds to checkpoint and exit (a second SIGINT would abort that); no eval."""
        if self.stop_sent:
            return
        if self.phase == "eval":
            self.send(signal.SIGTERM)
        elif self.phase == "train":
            self.send(sig)
        self.stop_sent = time.monotonic()

    def _find_run_dir(self):
        # self.dir was made empty for this attempt (fresh_dir): the only run in it is this one's.
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
        if self.phase == "train" and m and not self.stop_sent and now - self.started > m * 60 * 1.25 + WATCHDOG_SLACK:
            self.watchdog = (f"dodge train (seed {self.seed}) was still training {now - self.started:.0f} s after "
                             f"its start (train.max_minutes={m:g}); stopped by the watchdog, not scored")
            say(self.watchdog)
            self.stop(signal.SIGINT)
        if self.stop_sent and now - self.stop_sent > KILL_AFTER and not self.killed:
            self.killed = True
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
            if self.watchdog:  # overran its budget: what it measured is not comparable
                return self._fail(self.watchdog)
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

    def stopped_by(self):
        """The rule that ended the run, from training_summary.json: stop_when (the bar),
        no_improvement, max_minutes, completed or interrupted. An older binary wrote stop_when for a
        plateau too; its stop_reason tells them apart."""
        s = self.summary or {}
        kind = s.get("stopped")
        if kind == "stop_when" and PLATEAU_REASON in (s.get("stop_reason") or ""):
            return "no_improvement"
        return kind

    def bar_seconds(self):
        """Seconds to the bar (train.stop_when's mean_reward / success_rate), None when the run did
        not reach it: a plateau or a budget that ended it is a miss."""
        if self.stopped_by() == "stop_when":
            return (self.summary or {}).get("duration_seconds")
        return None

    def record(self):
        s = self.summary or {}
        return {"seed": self.seed, "run_dir": self.run_dir, "phase": self.phase, "evals": self.evals,
                "heldout": self.heldout, "stopped": self.stopped_by(), "stop_reason": s.get("stop_reason"),
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



def fresh_dir(parent, name):
    """A folder made for this attempt alone: NAME, else NAME.2, NAME.3, ... (os.mkdir is atomic, so
    workers sharing PARENT, or a retry beside an earlier attempt, never share one)."""
    os.makedirs(parent, exist_ok=True)
    for i in range(1, 10000):
        path = os.path.join(parent, name if i == 1 else f"{name}.{i}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    fail(f"{parent}: no free folder for {name}", 1)
