#!/usr/bin/env python3
"""CTest tune:* (tests/tune/tune.cmake): the tuner (python -m dodge.tune, from python/) against the real
dodge binary with tiny trainings (65-float observations, 100-step episodes, 2 games, 600 env steps:
a few seconds), or against tests/tune/fake_dodge.py for faults a real training cannot show on cue.

  test_tune.py CASE DODGE [FIXTURE_DIR]

CASE: tests/tune/tune.cmake lists them. Run by run.sh in
scripts/py-env.sh's Python (Optuna, SQLAlchemy, psycopg2, matplotlib), which reports the test as
skipped (77) only where that environment cannot be made (and tune:postgres where no PostgreSQL
server binaries are installed: scripts/install-deps.sh installs Debian's).
"""
import csv
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The tuner from the source tree (PYTHONPATH=python), so the tests do not depend on the package
# being installed (tune:installed checks the installed one).
PYSRC = os.path.join(SRC, "python")
sys.path.insert(0, PYSRC)
PY = sys.executable
TUNE_CMD = [PY, "-m", "dodge.tune"]
if os.environ.get("DODGE_TUNE_CMD"):  # another tuner (an old or a deliberately broken one), to see a case fail
    import shlex
    TUNE_CMD = shlex.split(os.environ["DODGE_TUNE_CMD"])
FAKE = os.path.join(SRC, "tests", "tune", "fake_dodge.py")
SKIP = 77

# Returns are survival_reward x episode length (no collision penalty, no dodge bonus): a trial
# with survival_reward 0.001 scores at most 0.1 per episode and one with 1.0 at least 1, at every
# evaluation, on any CPU: the median pruner prunes the first against the second for sure.
TINY = """\
env:
  level: 2
  max_episode_steps: 100
  n_envs: 2
  observation_mode: standard
  collision_penalty: 0
  dodge_bonus_multiplier: 0
sac:
  buffer_size: 2000
  batch_size: 32
  net_arch: [32, 32]
train:
  total_timesteps: 600
  learning_starts: 200
  train_freq: 2
  eval_freq: 200
  n_eval_episodes: 2
  checkpoint_freq: 0
  log_interval: 200
  threads: 1
  seed: 0
  device: cpu
"""

SPACE = """\
# the test's space: a categorical that decides pruning, a log float, a list-valued categorical
# and a conditional key (ent_coef_init only when the coefficient is learned)
env.survival_reward: {type: categorical, choices: [1.0, 0.001]}
sac.learning_rate: {type: float, low: 1e-4, high: 3.0e-3, log: true}
sac.net_arch: {type: categorical, choices: [[16, 16], [32, 32]]}
sac.ent_coef: {type: categorical, choices: [auto, 0.1]}
sac.ent_coef_init: {type: float, low: 0.05, high: 1.0, log: true, when: {sac.ent_coef: auto}}
"""


class Failed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failed(message)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Case:
    def __init__(self, dodge, tmp):
        self.dodge = dodge
        self.tmp = tmp
        self.config = os.path.join(tmp, "tiny.yaml")
        self.space = os.path.join(tmp, "space.yaml")
        with open(self.config, "w") as f:
            f.write(TINY)
        with open(self.space, "w") as f:
            f.write(SPACE)
        self.env = dict(os.environ, OMP_NUM_THREADS="1",
                        PYTHONPATH=PYSRC + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))

    def fake(self, plan):
        """Runs on tests/tune/fake_dodge.py with this plan instead of the real binary."""
        with open(os.path.join(self.tmp, "plan.json"), "w") as f:
            json.dump(plan, f)
        self.dodge = os.path.join(self.tmp, "fake-dodge")
        with open(self.dodge, "w") as f:
            f.write(f"#!/bin/sh\nexec {PY} {FAKE} \"$@\"\n")
        os.chmod(self.dodge, 0o755)
        self.env["FAKE_DODGE_PLAN"] = os.path.join(self.tmp, "plan.json")

    def cmd(self, *args, results=None, storage=None, study="t"):
        c = [*TUNE_CMD, "--dodge", self.dodge, "--config", self.config, "--space", self.space,
             "--study-name", study, "--episodes", "4", "--heartbeat", "2"]
        if results:
            c += ["--results", results]
        if storage:
            c += ["--storage", storage]
        return c + list(args)

    def run(self, cmd, expect=0, timeout=600):
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
                           timeout=timeout)
        out = r.stdout + r.stderr
        if expect is not None and r.returncode != expect:
            raise Failed(f"exit {r.returncode}, expected {expect}: {' '.join(cmd)}\n{out[-6000:]}")
        log(f"  exit {r.returncode} in {time.monotonic() - t0:.1f} s")
        return r


def load_study(storage, name="t"):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = storage if "://" in storage else JournalStorage(JournalFileBackend(storage))
    return optuna.load_study(study_name=name, storage=st)


def states(study):
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def read_csv_rows(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def tune_processes(tag):
    """Processes (the tuner or its dodge children) whose command line names TAG."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if tag in cmd and state != "Z":
            out.append((int(pid), cmd))
    return out


# ---- tune:space ---------------------------------------------------------------------------------
def case_space(c):
    """Bad spaces and bad input: exit 2, one line naming the key and what is allowed, and no
    training (no trial folder, no storage); then the parser's conditional sampling, the
    --set spelling of values, and the interquartile mean against its definition."""
    import numpy as np
    import optuna

    from dodge.tune import space as tune_space
    from dodge.tune import stats as tune_report

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bad = [
        ("sac.gamma: {type: uniform, low: 0.9, high: 0.99}", "sac.gamma: type 'uniform' is not allowed; allowed: float, int, categorical"),
        ("sac.gamma: {type: float, low: 0.99, high: 0.9}", "sac.gamma: low (0.99) must be below high (0.9)"),
        ("sac.learning_rate: {type: float, low: 0, high: 0.01, log: true}", "sac.learning_rate: log needs low > 0"),
        ("sac.gamma: {type: float, low: 0.9, high: 0.99, scale: 2}", "sac.gamma: field 'scale' is not allowed for type float; allowed: type, low, high, log, step, when"),
        ("sac.batch_size: {type: int, low: 32.5, high: 64}", "sac.batch_size: low must be an integer, got 32.5"),
        ("sac.batch_size: {type: categorical, choices: []}", "sac.batch_size: categorical needs choices: a non-empty list"),
        ("sac.ent_coef_init: {type: float, low: 0.1, high: 1, when: {sac.ent_coef: auto}}", "sac.ent_coef_init: when names sac.ent_coef, which is not in the space"),
        ("sac.ent_coef: {type: categorical, choices: [auto, 0.1]}\nsac.ent_coef_init: {type: float, low: 0.1, high: 1, when: {sac.ent_coef: 0.5}}",
         "sac.ent_coef_init: when sac.ent_coef: 0.5 is not one of its choices [auto, 0.1]"),
        ("a.b: {type: categorical, choices: [1, 2], when: {c.d: 1}}\nc.d: {type: categorical, choices: [1, 2], when: {a.b: 1}}", "its when conditions form a cycle"),
        ("sac.gamma: [0.9, 0.99]", "sac.gamma: expected a mapping such as {type: float, low: 0.001, high: 0.1}"),
        ("sac.gamma: {type: float, low: 0.9, high: 0.99\n", "YAML syntax error"),
        ("", "the file is empty"),
        # What the config allows, from the dodge binary itself
        ("sac.learning_rte: {type: float, low: 1e-4, high: 1e-3, log: true}", "sac.learning_rte: low 0.0001: unknown key sac.learning_rte; did you mean sac.learning_rate?"),
        ("sac.gamma: {type: float, low: 0.9, high: 1.5}", "sac.gamma: high 1.5: sac.gamma = 1.5 is not allowed; allowed: a number in [0, 1]"),
        ("env.level: {type: int, low: 1, high: 3}", "env.level: high 3: env.level = 3 is not allowed; allowed: an integer in [1, 2]"),
        ("sac.ent_coef: {type: categorical, choices: [auto, fixed]}", "sac.ent_coef: choice fixed: sac.ent_coef = fixed is not allowed; allowed: auto or a positive number"),
        ("sac.net_arch: {type: categorical, choices: [[64, 64], []]}", "sac.net_arch: choice []: sac.net_arch = [] is not allowed; allowed: a list of 1..8 integers in [1, 8192]"),
        ("train.seed: {type: int, low: 0, high: 9}", "train.seed: the tuner sets it (--seeds)"),
    ]
    for i, (text, expected) in enumerate(bad):
        path = os.path.join(c.tmp, f"bad_{i}.yaml")
        with open(path, "w") as f:
            f.write(text)
        res = os.path.join(c.tmp, f"res_{i}")
        r = subprocess.run([*TUNE_CMD, "--dodge", c.dodge, "--config", c.config, "--space", path, "--trials", "1",
                            "--results", res], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2, f"space {text!r}: exit {r.returncode}, expected 2; stderr: {r.stderr[-2000:]}")
        check(len(lines) == 1 and lines[0].startswith("tune: "), f"space {text!r}: expected one line, got {lines}")
        check(expected in lines[0], f"space {text!r}: expected {expected!r} in {lines[0]!r}")
        check(not os.path.exists(res), f"space {text!r}: {res} was made before the input was checked")
        log(f"  {lines[0]}")

    other = [
        (["--objective", "speed"], "--objective speed: allowed: return, time, return,time"),
        (["--trials", "0"], "--n-trials 0: must be >= 1"),
        (["--storage", "postgresql://tune:hunter2@127.0.0.1:1/db"], "a password on the command line is visible"),
        (["--seeds", "0,x"], "--seeds 0,x: expected a comma list of integers"),
        (["--enqueue", '{"sac.learning_rate": 0.5}'], "sac.learning_rate: 0.5 is not allowed; allowed: [0.0001, 0.003]"),
        (["--enqueue", '{"sac.gamma": 0.9}'], "sac.gamma: not in the space"),
        (["--set", "sac.net_arch=[8, 8]"], "sac.net_arch: also fixed by --set; keep one"),
        (["--set", "sac.gama=0.9"], "--set sac.gama=0.9: unknown key sac.gama; did you mean sac.gamma?"),
        (["--objective", "time"], "--objective time measures the time to the config's bar: set train.stop_when"),
    ]
    for args, expected in other:
        res = os.path.join(c.tmp, "res_other")
        r = subprocess.run(c.cmd("--trials", "1", *args, results=res), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=c.env)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and expected in lines[0],
              f"{args}: exit {r.returncode}, stderr {lines}; expected exit 2 and {expected!r}")
        check(not os.path.exists(os.path.join(res, "study.journal")), f"{args}: the storage was made")
        log(f"  {lines[0]}")
    r = subprocess.run(c.cmd(results=os.path.join(c.tmp, "none")), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=c.env)
    check(r.returncode == 2 and "say when the study ends" in r.stderr, f"no budget: {r.returncode} {r.stderr}")
    r = subprocess.run(c.cmd("--trials", "1", "--storage", "postgresql://tune:hunter2@127.0.0.1:1/db",
                             results=os.path.join(c.tmp, "pw")), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=c.env)
    check("hunter2" not in r.stdout + r.stderr, f"the password was printed: {r.stderr}")

    # The space's own logic: conditional keys, list choices, the spelling of --set values.
    space = tune_space.load(c.space)
    check(space.order.index("sac.ent_coef") < space.order.index("sac.ent_coef_init"), f"order {space.order}")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(40):
        t = study.ask()
        v = space.suggest(t)
        check(isinstance(v["sac.net_arch"], list) and v["sac.net_arch"] in ([16, 16], [32, 32]), f"net_arch {v}")
        check(("sac.ent_coef_init" in v) == (v["sac.ent_coef"] == "auto"), f"conditional key: {v}")
        check(1e-4 <= v["sac.learning_rate"] <= 3e-3, f"range {v}")
        check(space.values_of(t.params) == v, f"stored params {t.params} decode to {space.values_of(t.params)}, not {v}")
        seen.add(v["sac.ent_coef"])
        study.tell(t, 0.0)
    check(seen == {"auto", 0.1}, f"choices seen {seen}")
    st = tune_space.set_text
    check([st(1e-05), st(0.0003), st(True), st(None), st([64, 64]), st("auto"), st(3)] ==
          ["1e-05", "0.0003", "true", "null", "[64, 64]", "auto", "3"], "set_text")

    # rliable's IQM: the mean of the middle half (scipy.stats.trim_mean(x, 0.25)).
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 5, 8, 10, 13):
        x = rng.normal(size=n)
        s = np.sort(x)
        k = int(0.25 * n)
        check(abs(tune_report.iqm(x) - s[k:n - k].mean()) < 1e-12, f"iqm n={n}")
    check(tune_report.iqm([1, 2, 3, 4, 5, 6, 7, 100]) == 4.5, "iqm of 1..7,100")
    lo, hi = tune_report.iqm_interval([1.0, 2.0, 3.0, 4.0, 50.0])
    check(lo <= tune_report.iqm([1.0, 2.0, 3.0, 4.0, 50.0]) <= hi and lo >= 1 and hi <= 50, f"interval {lo} {hi}")
    check(tune_report.iqm_interval([1.0, 2.0, 3.0, 4.0, 50.0]) == [lo, hi], "the interval is seeded")

    # The pruner's warm-up: a third of total_timesteps, unless minutes end the runs first; then a
    # third of the median step complete trials reached (else a 2M-step config is never pruned).
    from dodge.tune.study import pruner_warmup as w
    check(w(500, 2e6, True, [60000]) == 500, "--pruner-warmup-steps wins")
    check(w(None, 2e6, False, [60000]) == 666666, "no time budget: a third of total_timesteps")
    check(w(None, 2e6, True, []) == 666666, "no complete trial yet: a third of total_timesteps")
    check(w(None, 2e6, True, [60000, 30000, 90000]) == 20000, "a third of the median reached")
    check(w(None, 2e6, True, [40000, 60000]) == 16666, "the median of an even count")
    check(w(None, 9e4, True, [3e6]) == 30000, "never later than a third of total_timesteps")


# ---- tune:journal (and the fixture of tune:best-reproduces) --------------------------------------
def case_journal(c, out):
    """3 trials of 2 seeds side by side on the default journal file, the first two values
    enqueued so that trial 1 (survival_reward 0.001) is pruned against trial 0."""
    shutil.rmtree(out, ignore_errors=True)
    r = c.run(c.cmd("--trials", "3", "--seeds", "0,1", "--parallel", "2", "--n-startup-trials", "2",
                    "--pruner-startup-trials", "1", "--pruner-warmup-steps", "0",
                    "--enqueue", '{"env.survival_reward": 1.0, "sac.ent_coef": auto}',
                    "--enqueue", '{"env.survival_reward": 0.001}', results=out))
    print(r.stdout[-3000:])
    journal = os.path.join(out, "study.journal")
    check(os.path.isfile(journal), "no journal file at RESULTS/study.journal (the default storage)")
    study = load_study(journal)
    st = states(study)
    check(len(st) == 3, f"3 trials expected, got {st}")
    check(st[0] == "COMPLETE" and st[1] == "PRUNED", f"trial 0 complete and trial 1 pruned expected: {st}")
    with open(os.path.join(out, "trials.json")) as f:
        rows = json.load(f)
    check([r["state"] for r in rows] == [s.lower() for s in st], f"trials.json states {[r['state'] for r in rows]}")
    header = read_csv_rows(os.path.join(out, "trials.csv"))[0].split(",")
    for col in ("number", "state", "value", "iqm_return", "ci95_low", "ci95_high", "env.survival_reward",
                "sac.learning_rate", "seed0_return", "seed1_return", "seconds"):
        check(col in header, f"trials.csv lacks {col}: {header}")
    check(len(read_csv_rows(os.path.join(out, "trials.csv"))) == 4, "trials.csv: 3 rows expected")
    for t, row in zip(study.get_trials(deepcopy=False), rows):
        if t.state.name != "COMPLETE":
            continue
        rets = []
        for s in (0, 1):
            d = row["seeds"][str(s)]
            h = d["heldout"]
            check(h["seed"] == s + 2000003 and h["episodes"] == 4 and h["of"] == "final",
                  f"trial {t.number} seed {s}: held-out eval {h}")
            run = d["run_dir"]
            for p in ("final/policy.pt", "best/policy.pt", "evaluations.csv", "logs/progress.csv", "config.yaml"):
                check(os.path.exists(os.path.join(run, p)), f"trial {t.number} seed {s}: no {p} in {run}")
            check(glob.glob(os.path.join(run, "logs", "tensorboard", "events.out.tfevents.*")), f"{run}: no TensorBoard events")
            ev = [l.split(",") for l in read_csv_rows(os.path.join(run, "evaluations.csv"))[1:]]
            check([[int(e[0]), float(e[1])] for e in ev] == [[e[0], e[1]] for e in d["evals"]],
                  f"trial {t.number} seed {s}: the stored evaluations differ from {run}/evaluations.csv")
            rets.append(h["mean_return"])
        check(abs(t.value - sum(rets) / 2) < 1e-9, f"trial {t.number}: value {t.value}, the mean of 2 seeds {rets}")
        check(row["iqm_return_ci95"] is None and row["statistic"] == "mean", f"trial {t.number}: an interval over 2 seeds")
        check([row["min_return"], row["max_return"]] == [min(rets), max(rets)], f"trial {t.number}: range {row}")
        # Intermediate values: the mean over the two seeds side by side at each evaluation step.
        ev0, ev1 = row["seeds"]["0"]["evals"], row["seeds"]["1"]["evals"]
        want = {e0[0]: (e0[1] + e1[1]) / 2 for e0, e1 in zip(ev0, ev1)}
        check(set(t.intermediate_values) == set(want) and
              all(abs(t.intermediate_values[k] - want[k]) < 1e-9 for k in want),
              f"trial {t.number}: intermediate values {t.intermediate_values}, expected {want}")
    pruned = study.get_trials(deepcopy=False)[1]
    check(pruned.params["env.survival_reward"] == 0.001 and pruned.user_attrs.get("tune_pruned_at_step") == 200,
          f"trial 1: {pruned.params}, pruned at {pruned.user_attrs.get('tune_pruned_at_step')}")
    check(os.path.isdir(os.path.join(out, "trial_0001", "seed_0")), "the pruned trial's folders are kept")
    for png in ("history.png", "importances.png", "parallel.png", "intermediate.png", "best_curves.png"):
        check(os.path.isfile(os.path.join(out, png)) and is_png(os.path.join(out, png)), f"no picture {png}")
    check(os.path.isfile(os.path.join(out, "best.yaml")), "no best.yaml")
    # --report writes the same table again from the storage alone (defect 9: this once only checked
    # that a file was there again).
    with open(os.path.join(out, "trials.csv")) as f:
        table = f.read()
    os.remove(os.path.join(out, "trials.csv"))
    c.run([*TUNE_CMD, "--report", "--study-name", "t", "--results", out, "--no-pictures"])
    with open(os.path.join(out, "trials.csv")) as f:
        again = f.read()
    check(again == table, f"--report wrote another table:\n{again}\nvs the study's\n{table}")


def case_best(c, out):
    """`dodge train --config best.yaml` trains the best trial's first seed again: the same
    evaluations, row for row, and the same held-out evaluation of final/."""
    best = os.path.join(out, "best.yaml")
    check(os.path.isfile(best), f"{best} missing: tune:journal makes it")
    with open(os.path.join(out, "trials.json")) as f:
        rows = json.load(f)
    with open(best) as f:
        head = f.read(400)
    number = int(re.search(r": trial (\d+), held-out", head).group(1))
    row = rows[number]
    check(row["state"] == "complete", f"best.yaml names trial {number}, which is {row['state']}")
    ref = row["seeds"]["0"]["run_dir"]
    res = os.path.join(c.tmp, "again")
    r = subprocess.run([c.dodge, "train", "--config", best, "--results", res], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, env=c.env)
    check(r.returncode == 0, f"dodge train --config best.yaml: exit {r.returncode}\n{r.stdout[-3000:]}")
    run = glob.glob(os.path.join(res, "best", "*"))[0]
    a = read_csv_rows(os.path.join(ref, "evaluations.csv"))
    b = read_csv_rows(os.path.join(run, "evaluations.csv"))
    log(f"  the trial's run:  {a[1:]}\n  best.yaml again: {b[1:]}")
    check(len(a) > 2 and a[1] == b[1], f"the first evaluation differs: {a[1:2]} vs {b[1:2]}")
    check(a == b, f"the evaluations differ: {a} vs {b}")
    ev = os.path.join(c.tmp, "ev.json")
    subprocess.run([c.dodge, "eval", os.path.join(run, "final"), "--episodes", "4", "--json", ev], check=True,
                   stdout=subprocess.DEVNULL, env=c.env)
    with open(ev) as f:
        again = json.load(f)["mean_return"]
    check(again == row["seeds"]["0"]["heldout"]["mean_return"], f"held-out eval {again} vs {row['seeds']['0']['heldout']}")
    # Defect 13: best.yaml holds every key the trial's run trained with: the config the new run
    # resolves is the trial's, key for key; the header names every seed's command.
    import yaml
    with open(os.path.join(ref, "config.yaml")) as f:
        want = yaml.safe_load(f)
    with open(os.path.join(run, "config.yaml")) as f:
        got = yaml.safe_load(f)
    diff = sorted(f"{s}.{k}" for s in set(want) | set(got) for k in set(want.get(s) or {}) | set(got.get(s) or {})
                  if (want.get(s) or {}).get(k) != (got.get(s) or {}).get(k))
    check(not diff, f"best.yaml trains another config: {[(k, want[k.split('.')[0]].get(k.split('.')[1]), got[k.split('.')[0]].get(k.split('.')[1])) for k in diff]}")
    with open(best) as f:
        header = [l for l in f if l.startswith("#")]
    for s in (0, 1):
        check(any(f"dodge train --config best.yaml --seed {s}" in l for l in header), f"best.yaml's header lacks seed {s}: {header}")


# ---- tune:postgres ------------------------------------------------------------------------------
def pg_bin():
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(cands[-1]) if cands else None


def case_postgres(c):
    """Debian's PostgreSQL server started here (initdb, pg_ctl, a free localhost port), two
    workers on one study with --max-total-trials 4: four trials, each run by exactly one worker,
    each with its run folder in that worker's results; none lost, none counted twice."""
    bindir = pg_bin()
    if bindir is None:
        print("SKIPPED: no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb); scripts/install-deps.sh installs it")
        sys.exit(SKIP)
    pgdir = os.path.join(c.tmp, "pg")
    os.makedirs(pgdir)
    as_user = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        import pwd
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise Failed("running as root and there is no postgres user to run the server as")
        os.chown(pgdir, pw.pw_uid, pw.pw_gid)
        os.chmod(c.tmp, 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(pgdir, "data")
    # cwd: the server's user may not reach CTest's folder (a clone under /root), and initdb and
    # pg_ctl read their working directory first.
    # A password for TCP connections: the workers must get it without it reaching argv.
    secret = "pw-" + os.urandom(8).hex()
    pwfile = os.path.join(pgdir, "pw")
    with open(pwfile, "w") as f:
        f.write(secret + "\n")
    if as_user:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", data, "-U", "tune", "--auth-local=trust",
                              "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL, cwd=pgdir)
    opts = f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(pgdir, "log"), "-w",
                              "start"], check=True, stdout=subprocess.DEVNULL, cwd=pgdir)
    log(f"  PostgreSQL ({bindir}) on 127.0.0.1:{port}")
    try:
        bare = f"postgresql+psycopg2://tune@127.0.0.1:{port}/postgres"
        url = f"postgresql+psycopg2://tune:{secret}@127.0.0.1:{port}/postgres"
        pgpass = os.path.join(c.tmp, "pgpass")
        with open(pgpass, "w") as f:
            f.write(f"127.0.0.1:{port}:postgres:tune:{secret}\n")
        os.chmod(pgpass, 0o600)
        procs = []
        # Worker a reads the whole URL from $DODGE_TUNE_STORAGE, worker b the password from a
        # libpq password file ($PGPASSFILE) with the bare URL in --storage.
        for w in ("a", "b"):
            cmd = c.cmd("--max-total-trials", "4", "--seeds", "0", "--pruner", "none",
                        results=os.path.join(c.tmp, f"machine_{w}"), storage=None if w == "a" else bare)
            env = dict(c.env, DODGE_TUNE_STORAGE=url) if w == "a" else dict(c.env, PGPASSFILE=pgpass)
            procs.append(subprocess.Popen(cmd, stdout=open(os.path.join(c.tmp, f"worker_{w}.log"), "w"),
                                          stderr=subprocess.STDOUT, env=env))
        seen, polls = [], 0
        while any(p.poll() is None for p in procs):
            polls += 1
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if secret.encode() in f.read():
                            seen.append(pid)
                except OSError:
                    pass
            time.sleep(0.2)
        for p in procs:
            p.wait(timeout=600)
        check(polls > 5 and not seen, f"the password was in the process list (pids {sorted(set(seen))})")
        log(f"  the password was in no process's argv ({polls} looks at /proc)")
        for w, p in zip("ab", procs):
            with open(os.path.join(c.tmp, f"worker_{w}.log")) as f:
                text = f.read()
            print(f"--- worker {w}\n{text[-2500:]}")
            check(p.returncode == 0, f"worker {w} exited with {p.returncode}")
            check(secret not in text, f"worker {w} printed the password")
            check("***" in text if w == "a" else True, f"worker {w} did not name the storage redacted")
        study = load_study(url)
        trials = study.get_trials(deepcopy=False)
        counted = [t for t in trials if t.state.name != "FAIL"]
        check(len(counted) == 4 and all(t.state.name == "COMPLETE" for t in counted),
              f"4 complete trials expected: {states(study)}")
        for t in trials:
            if t.state.name == "FAIL":
                check(t.user_attrs.get("tune_over_budget"), f"trial {t.number} failed: {t.user_attrs.get('tune_reason')}")
        pids = set()
        for t in counted:
            w = t.user_attrs["tune_worker"]
            pids.add(w["pid"])
            homes = [m for m in ("a", "b")
                     if os.path.isdir(os.path.join(c.tmp, f"machine_{m}", f"trial_{t.number:04d}"))]
            check(len(homes) == 1, f"trial {t.number}: run folders in {homes}, expected exactly one machine")
            run = t.user_attrs["tune_seed_0"]["run_dir"]
            check(run.startswith(os.path.join(c.tmp, f"machine_{homes[0]}")) and
                  os.path.isdir(os.path.join(run, "final")), f"trial {t.number}: run {run}")
            check(t.value == t.user_attrs["tune_result"]["return"], f"trial {t.number}: value")
        check(len(pids) == 2, f"both workers should have run trials; pids {pids}")
        log(f"  trials: {[(t.number, t.state.name, t.user_attrs['tune_worker']['pid']) for t in trials]}")
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=pgdir)


# ---- tune:ctrl-c and tune:kill-9 ----------------------------------------------------------------
def start_and_wait_for_an_evaluation(c, cmd, out):
    logf = open(os.path.join(c.tmp, "worker1.log"), "w")
    # A session of its own, as a terminal's foreground job: the Ctrl-C goes to its process group.
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=c.env, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ev = glob.glob(os.path.join(out, "trial_0000", "seed_0", "*", "*", "evaluations.csv"))
        if ev and len(read_csv_rows(ev[0])) >= 2:
            return p, ev[0]
        check(p.poll() is None, f"the worker ended early ({p.returncode}): {open(os.path.join(c.tmp, 'worker1.log')).read()[-3000:]}")
        time.sleep(0.2)
    raise Failed("no evaluation within 300 s")


def finish_after_restart(c, cmd, journal, first_params):
    r = c.run(cmd)
    print(r.stdout[-2500:])
    study = load_study(journal)
    trials = study.get_trials(deepcopy=False)
    log(f"  after the restart: {[(t.number, t.state.name, t.user_attrs.get('tune_retry_of')) for t in trials]}")
    done = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    check(len(done) == 2, f"2 finished trials expected (--max-total-trials 2): {states(study)}")
    retry = [t for t in done if t.user_attrs.get("tune_retry_of") == 0]
    check(len(retry) == 1 and retry[0].params == first_params,
          f"trial 0's values should have been run again: {[(t.number, t.params) for t in done]} vs {first_params}")
    check(all(t.state.name in ("COMPLETE", "PRUNED", "FAIL") for t in trials), f"unfinished trials: {states(study)}")
    return study


def case_ctrl_c(c):
    """Ctrl-C on a worker: its running trial ends as failed, its runs checkpoint and exit, the
    folders stay, the worker exits 130; the next start runs that trial's values again and
    completes the study."""
    out = os.path.join(c.tmp, "study")
    cmd = c.cmd("--max-total-trials", "2", "--seeds", "0,1", "--pruner", "none",
                "--set", "train.total_timesteps=1200", results=out)
    p, ev = start_and_wait_for_an_evaluation(c, cmd, out)
    os.killpg(p.pid, signal.SIGINT)
    t0 = time.monotonic()
    code = p.wait(timeout=120)
    log(f"  the worker exited with {code} {time.monotonic() - t0:.1f} s after Ctrl-C")
    print(open(os.path.join(c.tmp, "worker1.log")).read()[-2500:])
    check(code == 130, f"exit {code} after Ctrl-C, expected 130")
    check(not tune_processes(c.tmp), f"processes left: {tune_processes(c.tmp)}")
    journal = os.path.join(out, "study.journal")
    study = load_study(journal)
    t = study.get_trials(deepcopy=False)[0]
    check(t.state.name == "FAIL" and "SIGINT" in t.user_attrs.get("tune_reason", ""), f"trial 0: {t.state} {t.user_attrs.get('tune_reason')}")
    run = os.path.dirname(ev)
    # The interrupt checkpoint itself (defect 9: this once accepted best/, which the first
    # evaluation writes before any Ctrl-C); checkpoint_freq is 0, so nothing else writes step_N.
    check(glob.glob(os.path.join(run, "checkpoints", "step_*", "agent.pt")),
          f"no interrupt checkpoint (checkpoints/step_N/agent.pt) in {run}: {os.listdir(run)}")
    with open(os.path.join(run, "training_summary.json")) as f:
        check(json.load(f)["stopped"] == "interrupted", "the run did not stop as interrupted")
    check(os.path.isfile(os.path.join(out, "trials.csv")), "no table after Ctrl-C")
    finish_after_restart(c, cmd, journal, t.params)


def case_kill_9(c):
    """kill -9 on a worker: its runs get SIGTERM (they checkpoint and exit), the journal stays
    readable with the trial still running; the next start marks it failed (its worker is gone)
    and completes the study with that trial's values run again."""
    out = os.path.join(c.tmp, "study")
    cmd = c.cmd("--max-total-trials", "2", "--seeds", "0,1", "--pruner", "none",
                "--set", "train.total_timesteps=1200", results=out)
    p, ev = start_and_wait_for_an_evaluation(c, cmd, out)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 60
    while tune_processes(c.tmp) and time.monotonic() < deadline:
        time.sleep(0.2)
    check(not tune_processes(c.tmp), f"the runs outlived the killed worker: {tune_processes(c.tmp)}")
    journal = os.path.join(out, "study.journal")
    study = load_study(journal)
    t = study.get_trials(deepcopy=False)[0]
    check(t.state.name == "RUNNING", f"trial 0 is {t.state.name} after kill -9")
    study = finish_after_restart(c, cmd, journal, t.params)
    t = study.get_trials(deepcopy=False)[0]
    check(t.state.name == "FAIL" and "is gone" in t.user_attrs.get("tune_reason", ""),
          f"trial 0: {t.state.name}, {t.user_attrs.get('tune_reason')}")


# ---- tune:sampler-seed --------------------------------------------------------------------------
def case_sampler_seed(c):
    """The same --sampler-seed proposes the same values, trial for trial (the third one from TPE's
    model of the first two); another seed proposes others."""
    runs = {}
    for name, seed, trials in (("a", 7, 3), ("b", 7, 3), ("c", 8, 1)):
        out = os.path.join(c.tmp, name)
        c.run(c.cmd("--trials", str(trials), "--seeds", "0", "--n-startup-trials", "2", "--pruner", "none",
                    "--sampler-seed", str(seed), "--no-pictures", "--set", "train.total_timesteps=400",
                    results=out))
        runs[name] = [t.params for t in load_study(os.path.join(out, "study.journal")).get_trials(deepcopy=False)]
        log(f"  {name} (seed {seed}): {runs[name]}")
    check(len(runs["a"]) == 3 and runs["a"] == runs["b"], f"seed 7 twice: {runs['a']} vs {runs['b']}")
    check(runs["a"][0] != runs["c"][0], f"seeds 7 and 8 proposed the same first values: {runs['a'][0]}")


# ---- faults shown with tests/tune/fake_dodge.py ---------------------------------------------------
def _trials(out):
    return load_study(os.path.join(out, "study.journal")).get_trials(deepcopy=False)


def case_stale_run(c):
    """Defect 1: a trial reads only the run it started. A run left in trial_0000/seed_0 by an earlier
    study in the same --results (its storage started afresh) is not scored."""
    out = os.path.join(c.tmp, "study")
    c.fake({"default": {"evals": [[200, 5.0], [400, 6.0]], "heldout": 50.0}})
    old = os.path.join(out, "trial_0000", "seed_0", "tiny", "00000000_000000")
    os.makedirs(os.path.join(old, "final"))
    for d in (old, os.path.join(old, "final")):
        with open(os.path.join(d, "config.yaml"), "w") as f:
            f.write(TINY)
    with open(os.path.join(old, "evaluations.csv"), "w") as f:
        f.write("timesteps,mean_reward,std_reward,mean_ep_length,std_ep_length,success_rate\n200,999.0,0,100,0,1\n")
    c.run(c.cmd("--trials", "1", "--seeds", "0", "--pruner", "none", "--no-pictures", results=out))
    t = _trials(out)[0]
    rec = t.user_attrs["tune_seed_0"]
    check(t.state.name == "COMPLETE", f"trial 0 is {t.state.name}: {t.user_attrs.get('tune_reason')}")
    check(rec["run_dir"] != old and not rec["run_dir"].startswith(old + os.sep),
          f"trial 0 scored the old run {rec['run_dir']}")
    check([e[1] for e in rec["evals"]] == [5.0, 6.0], f"trial 0's evaluations {rec['evals']}, expected 5.0, 6.0")
    check(os.path.isfile(os.path.join(old, "evaluations.csv")), "the old run was removed")


def case_bar(c):
    """Defect 2: with --objective time only the bar counts: a plateau (no_improvement, or an older
    binary's stop_when whose reason is the plateau) is a miss, and the table says which rule ended
    each run."""
    out = os.path.join(c.tmp, "study")
    plateau = "train.stop_when met: 2 evaluations in a row without a new best (best 1.0 at step 200)"
    c.fake({"seeds": {
        "0": {"stopped": "stop_when", "evals": [[200, 1.0], [400, 9.0]],
              "stop_reason": "train.stop_when met: the evaluation at step 400 scored 9.0 with 100% surviving"},
        "1": {"stopped": "no_improvement", "stop_reason": plateau},
        "2": {"stopped": "stop_when", "stop_reason": plateau}}})
    r = c.run(c.cmd("--trials", "1", "--seeds", "0,1,2", "--objective", "time", "--minutes", "1", "--pruner", "none",
                    "--no-pictures", "--set", "train.stop_when={mean_reward: 9, no_improvement_evals: 2}",
                    results=out))
    print(r.stdout[-1500:])
    t = _trials(out)[0]
    res = t.user_attrs["tune_result"]
    check(res["bar_reached"] == 1, f"bar reached by {res['bar_reached']} of 3 runs, expected 1 (seed 0)")
    check(res["par2_seconds"][1:] == [120.0, 120.0], f"PAR-2 seconds {res['par2_seconds']}: the plateaus count 2 x 60 s")
    rows = list(csv.DictReader(open(os.path.join(out, "trials.csv"))))
    got = [rows[0].get(f"seed{s}_stopped") for s in (0, 1, 2)]
    check(got == ["stop_when", "no_improvement", "no_improvement"], f"trials.csv seedS_stopped: {got}")


def case_warmup(c):
    """Defects 3 and 7: the pruner's warm-up and Hyperband's resources are on the step axis the
    trial reports. Two seeds one after another (two batches) whose runs end by their minutes at step
    600 of 100,000: the median pruner's default warm-up is a third of the 600 reached, so the bad
    trial is pruned in its first batch at step 200; Hyperband's first rung is one evaluation."""
    out = os.path.join(c.tmp, "median")
    c.fake({"default": {"evals": [[200, 10.0], [400, 10.0], [600, 10.0]], "stopped": "max_minutes",
                        "scale_by": "env.survival_reward"}})
    common = ["--seeds", "0,1", "--parallel", "1", "--minutes", "1", "--n-startup-trials", "2", "--no-pictures",
              "--set", "train.total_timesteps=100000", "--enqueue", '{"env.survival_reward": 1.0}',
              "--enqueue", '{"env.survival_reward": 0.001}']
    r = c.run(c.cmd("--trials", "2", "--pruner-startup-trials", "1", *common, results=out))
    print(r.stdout[-1500:])
    t = _trials(out)
    check([x.state.name for x in t] == ["COMPLETE", "PRUNED"], f"states {[x.state.name for x in t]}")
    at = t[1].user_attrs.get("tune_pruned_at_step")
    check(at == 200, f"the bad trial was pruned at step {at}, expected 200 (its first batch, past a third of 600)")


def case_hyperband(c):
    """Defect 7: Hyperband's min_resource is one evaluation on the step axis the trial reports."""
    c.fake({"default": {"evals": [[200, 10.0], [400, 10.0], [600, 10.0]], "stopped": "max_minutes",
                        "scale_by": "env.survival_reward"}})
    common = ["--seeds", "0", "--n-startup-trials", "2", "--no-pictures", "--set", "train.total_timesteps=600",
              "--enqueue", '{"env.survival_reward": 1.0}', "--enqueue", '{"env.survival_reward": 0.001}']
    out = os.path.join(c.tmp, "hyperband")
    c.run(c.cmd("--trials", "2", "--pruner", "hyperband", *common, results=out))
    rungs = set()
    for x in _trials(out):
        for k in x.system_attrs:
            m = re.search(r"completed_rung_(\d+)", k)
            if m:
                rungs.add(int(m.group(1)))
    # Evaluations every 200 steps, 600 a run: rungs at 200 and 600 (reduction factor 3); a
    # min_resource of 1 step makes rungs 0..4 (1, 3, 9, 27, 81) at the first report.
    check(rungs and max(rungs) <= 1, f"Hyperband's rungs {sorted(rungs)}: its min_resource is not one evaluation")


def case_signals(c):
    """Defects 4 and 5: when a run fails, its sibling gets one SIGINT and time to write its
    checkpoint (a second would abort it); a run that overruns its minutes is stopped by the
    watchdog and its trial fails with that reason (no traceback); a study where no trial completed
    exits 1 with one line (defect 6)."""
    out = os.path.join(c.tmp, "sibling")
    c.fake({"seeds": {"0": {"delay": 1.0, "checkpoint_seconds": 3.0},
                      "1": {"evals": [[200, 1.0]], "fail": 1}}})
    r = c.run(c.cmd("--trials", "1", "--seeds", "0,1", "--parallel", "2", "--pruner", "none", "--no-pictures",
                    results=out), expect=None)
    print(r.stdout[-1500:], r.stderr[-1500:])
    runs = glob.glob(os.path.join(out, "trial_0000", "seed_0*", "tiny", "*"))
    check(len(runs) == 1, f"seed 0's run: {runs}")
    sigs = open(os.path.join(runs[0], "signals.txt")).read().split("\n") if os.path.isfile(
        os.path.join(runs[0], "signals.txt")) else []
    sigs = [s for s in sigs if s]
    check(len(sigs) == 1, f"seed 0 got {len(sigs)} signals, expected one: {sigs}")
    check(glob.glob(os.path.join(runs[0], "checkpoints", "step_*")), f"seed 0 wrote no interrupt checkpoint: {runs[0]}")
    t = _trials(out)[0]
    check(t.state.name == "FAIL" and "fails as planned" in t.user_attrs.get("tune_reason", ""),
          f"trial 0: {t.state.name} {t.user_attrs.get('tune_reason')}")


def case_watchdog(c):
    """Defects 5 and 6: a run that overruns its minutes is stopped by the watchdog and its trial
    fails with that reason (no traceback); with no trial complete the study exits 1 with one line."""
    out = os.path.join(c.tmp, "watchdog")
    c.fake({"default": {"evals": [[200, 1.0]], "overrun": True}})
    env = dict(c.env, DODGE_TUNE_WATCHDOG_SLACK="1")
    r = subprocess.run(c.cmd("--trials", "1", "--seeds", "0", "--minutes", "0.01", "--pruner", "none",
                             "--no-pictures", results=out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env, timeout=400)
    print(r.stdout[-1500:], r.stderr[-1500:])
    check("Traceback" not in r.stdout + r.stderr, f"a traceback: {r.stderr[-3000:]}")
    t = _trials(out)[0]
    check(t.state.name == "FAIL" and "still training" in t.user_attrs.get("tune_reason", ""),
          f"trial 0: {t.state.name} {t.user_attrs.get('tune_reason')}")
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1 and lines and lines[-1].startswith("tune: no trial completed"),
          f"exit {r.returncode} with {lines[-1:]}; expected 1 and 'tune: no trial completed ...'")


def case_all_failed(c):
    """Defect 6: a study where every trial failed exits 1 with one line saying why."""
    out = os.path.join(c.tmp, "study")
    c.fake({"default": {"fail": 1}})
    r = c.run(c.cmd("--trials", "2", "--seeds", "0", "--pruner", "none", "--no-pictures", results=out), expect=None)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1, f"exit {r.returncode} when every trial failed, expected 1")
    check(len(lines) == 1 and "no trial completed" in lines[0] and "fails as planned" in lines[0],
          f"stderr {lines}: expected one line saying no trial completed, and why")


def case_settings(c):
    """Defect 12: a study keeps what changes its measurements (here --parallel): a restart with
    another value is refused (exit 2, one line naming it)."""
    out = os.path.join(c.tmp, "study")
    c.fake({})
    c.run(c.cmd("--trials", "1", "--seeds", "0,1", "--parallel", "2", "--pruner", "none", "--no-pictures",
                results=out))
    r = c.run(c.cmd("--trials", "1", "--seeds", "0,1", "--parallel", "1", "--pruner", "none", "--no-pictures",
                    results=out), expect=None)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "parallel" in lines[0],
          f"a restart with --parallel 1: exit {r.returncode}, {lines}; expected 2 and a line naming --parallel")
    check(len(_trials(out)) == 1, "the refused restart ran a trial")


def case_few_seeds(c):
    """Defect 10: under 5 seeds no IQM interval is printed or tabled: the values and their range."""
    out = os.path.join(c.tmp, "study")
    c.fake({"seeds": {"0": {"heldout": 100.0}, "1": {"heldout": 300.0}}})
    r = c.run(c.cmd("--trials", "1", "--seeds", "0,1", "--pruner", "none", "--no-pictures", results=out))
    line = [l for l in r.stdout.splitlines() if "trial 0:" in l and "held-out" in l]
    check(line, f"no result line for trial 0: {r.stdout[-1500:]}")
    check(not re.search(r"IQM [\d.]+", line[0]) and "[100.00, 300.00]" not in line[0] and "range 100" in line[0]
          and "fewer than 5 seeds" in line[0], f"trial 0's line: {line[0]!r}")
    rows = list(csv.DictReader(open(os.path.join(out, "trials.csv"))))
    check(rows[0]["ci95_low"] == "" and rows[0]["ci95_high"] == "", f"trials.csv has an interval over 2 seeds: {rows[0]}")
    check(rows[0]["min_return"] == "100" and rows[0]["max_return"] == "300", f"trials.csv range: {rows[0]}")


def case_units(c):
    """Defects 8 and 11 at the function level: a worker on another machine with the same host name
    (another boot id) and a fresh heartbeat is alive; a stale heartbeat is gone on every storage.
    Workers writing the table into one folder at once do not trip over each other's temporary files."""
    import threading
    from dodge.tune.workers import worker_gone
    me = socket.gethostname()
    other_boot = {"host": me, "pid": 1, "pid_start": 0, "boot": "another-machine", "heartbeat_seconds": 60}
    why = worker_gone(other_boot, time.time(), 5.0)
    check(why is None, f"a live worker on another machine with our host name is called gone: {why}")
    why = worker_gone(other_boot, time.time(), 3600.0)
    check(why is not None, "a worker with our host name, another boot and no heartbeat for an hour is alive")
    far = {"host": "elsewhere", "pid": 1, "pid_start": 0, "boot": "b", "heartbeat_seconds": 60}
    check(worker_gone(far, time.time(), 3600.0) is not None, "a silent worker elsewhere is alive")

    from dodge.tune.report import write_table
    rows = [{"number": i, "state": "complete", "values": [1.0], "params": {}, "iqm_return": 1.0,
             "iqm_return_ci95": None, "iqm_success": 1.0, "iqm_bar_seconds": None, "iqm_par2_seconds": None,
             "seeds": {}, "pruned_at_step": None, "reason": "", "seconds": 1.0, "worker": None, "retry_of": None,
             "started": None, "min_return": None, "max_return": None} for i in range(200)]
    out = os.path.join(c.tmp, "table")
    errors = []

    def writer():
        try:
            for _ in range(60):
                write_table(rows, [], [], out)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, f"writers sharing a folder collided: {errors[:2]}")
    check(len(read_csv_rows(os.path.join(out, "trials.csv"))) == 201, "trials.csv is not whole")
    check(not [f for f in os.listdir(out) if "tmp" in f], f"temporary files left: {os.listdir(out)}")


# ---- tune:docs and tune:installed ---------------------------------------------------------------
TOOLS = {"python -m dodge.tune": "tune", "scripts/tune.sh": "tune", "dodge-tune": "tune",
         "python -m dodge.trials": "trials", "scripts/trial.py": "trials", "dodge-trials": "trials"}


def documented_commands():
    """(file, tool, the command's text) for every command of the tuner or the harness in the docs:
    code blocks and `code spans` of docs/tuning.md and README.md, comments of configs/tune/*.yaml."""
    found = []
    texts = []
    for rel in ("docs/tuning.md", "README.md"):
        with open(os.path.join(SRC, rel)) as f:
            md = f.read()
        for block in re.findall(r"```[a-z]*\n(.*?)```", md, re.S):
            texts.append((rel, block))
        for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", md, flags=re.S)):
            texts.append((rel, span))
    for path in sorted(glob.glob(os.path.join(SRC, "configs", "tune", "*.yaml"))):
        with open(path) as f:
            texts.append((os.path.relpath(path, SRC), "\n".join(l.lstrip("#").strip() for l in f if l.startswith("#"))))
    for rel, text in texts:
        lines = text.replace("\\\n", " ").splitlines()
        for line in lines:
            for name, tool in TOOLS.items():
                if name in line:
                    found.append((rel, tool, line.split(name, 1)[1]))
    return found


def help_options(cmd, env):
    r = subprocess.run(cmd + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    check(r.returncode == 0, f"{' '.join(cmd)} --help: exit {r.returncode} {r.stderr[-500:]}")
    return r.stdout, set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", r.stdout))


def case_docs(c):
    """Defect 14: every documented command of the tuner and the harness uses only options their
    --help has; every option of the tuner's --help is in docs/tuning.md; the wrappers print the
    modules' --help; the docs' study passes --check against the real binary and configs."""
    tune_help, tune_opts = help_options(TUNE_CMD, c.env)
    trials_help, trials_opts = help_options([PY, "-m", "dodge.trials"], c.env)
    opts = {"tune": tune_opts, "trials": trials_opts}
    cmds = documented_commands()
    check(len(cmds) >= 10, f"only {len(cmds)} documented commands found: {cmds}")
    bad = []
    for rel, tool, text in cmds:
        for o in re.findall(r"(?<![\w-])--[a-z][a-z-]*", text):
            if o not in opts[tool]:
                bad.append(f"{rel}: {tool} {o}")
    check(not bad, f"documented options that --help does not have: {sorted(set(bad))}")
    with open(os.path.join(SRC, "docs", "tuning.md")) as f:
        doc = f.read()
    missing = sorted(o for o in tune_opts - {"--help"} if o not in doc)
    check(not missing, f"options of python -m dodge.tune --help missing from docs/tuning.md: {missing}")
    env = dict(c.env, DODGE_PYTHON=PY)
    for wrapper, text in ((["bash", os.path.join(SRC, "scripts", "tune.sh")], tune_help),
                          ([PY, os.path.join(SRC, "scripts", "trial.py")], trials_help)):
        r = subprocess.run(wrapper + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        check(r.returncode == 0 and r.stdout == text, f"{wrapper[-1]} --help differs from the module's: {r.stderr[-500:]}")
    # The docs' study, checked (every bound and choice through the binary), not trained.
    study = re.search(r"## One study.*?```sh\n(.*?)```", doc, re.S).group(1).replace("\\\n", " ")
    args = study.split("python -m dodge.tune", 1)[1].split()
    r = subprocess.run(TUNE_CMD + args + ["--dodge", c.dodge, "--check", "--results", os.path.join(c.tmp, "r")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env, cwd=SRC)
    check(r.returncode == 0 and "nothing trained" in r.stdout, f"the docs' study --check: exit {r.returncode} {r.stderr}")
    log(f"  {len(cmds)} documented commands, {len(tune_opts)} options; {r.stdout.strip().splitlines()[-1]}")


def case_installed(c):
    """Goal 2: where the package is installed, its tuner and harness run from any folder, without
    the checkout, with their entry points; skipped (77) where it is not installed."""
    import importlib.metadata as md
    try:
        dist = md.distribution("dodge")
    except md.PackageNotFoundError:
        print("SKIPPED: the package dodge is not installed in this Python (python:install installs it)")
        sys.exit(SKIP)
    eps = {e.name: e.value for e in dist.entry_points if e.group == "console_scripts"}
    check(eps.get("dodge-tune") == "dodge.tune.cli:main" and eps.get("dodge-trials") == "dodge.trials:main",
          f"entry points {eps}")
    env = {k: v for k, v in c.env.items() if k != "PYTHONPATH"}
    for mod in ("dodge.tune", "dodge.trials"):
        r = subprocess.run([PY, "-c", f"import {mod} as m; print(m.__file__)"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, cwd=c.tmp)
        check(r.returncode == 0 and not r.stdout.startswith(SRC + os.sep),
              f"{mod} is not the installed one: {r.stdout.strip()} {r.stderr[-300:]}")
        r = subprocess.run([PY, "-m", mod, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, cwd=c.tmp)
        check(r.returncode == 0 and f"python -m {mod}" in r.stdout, f"python -m {mod} --help: {r.stderr[-300:]}")
    script = os.path.join(os.path.dirname(PY), "dodge-tune")
    check(os.access(script, os.X_OK), f"no {script}")
    r = subprocess.run([PY, "-m", "dodge.tune", "--config", c.config, "--space", c.space, "--trials", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(env, PATH="/usr/bin:/bin", DODGE_BINARY=""), cwd=c.tmp)
    check(r.returncode == 2 and r.stderr.strip().startswith("tune: no dodge binary"),
          f"without a binary: exit {r.returncode}, {r.stderr.strip()}")
    log(f"  installed {dist.version}: {eps}")


def case_env():
    """The packages the tuner needs, importable (scripts/py-env.sh installed them)."""
    import matplotlib
    import numpy
    import optuna
    import psycopg2
    import sqlalchemy
    import yaml

    log(f"  optuna {optuna.__version__}, sqlalchemy {sqlalchemy.__version__}, psycopg2 {psycopg2.__version__} "
        f"(libpq {psycopg2.__libpq_version__}), matplotlib {matplotlib.__version__}, numpy {numpy.__version__}, "
        f"pyyaml {yaml.__version__}")


def main():
    case, dodge = sys.argv[1], os.path.abspath(sys.argv[2])
    if case == "env":
        case_env()
        return 0
    fixture = sys.argv[3] if len(sys.argv) > 3 else None
    tmp = tempfile.mkdtemp(prefix="dodge_tune_")
    t0 = time.monotonic()
    ok = False
    try:
        c = Case(dodge, tmp)
        {"space": lambda: case_space(c),
         "journal": lambda: case_journal(c, fixture),
         "best-reproduces": lambda: case_best(c, fixture),
         "postgres": lambda: case_postgres(c),
         "ctrl-c": lambda: case_ctrl_c(c),
         "kill-9": lambda: case_kill_9(c),
         "sampler-seed": lambda: case_sampler_seed(c),
         "stale-run": lambda: case_stale_run(c),
         "bar": lambda: case_bar(c),
         "warmup": lambda: case_warmup(c),
         "signals": lambda: case_signals(c),
         "watchdog": lambda: case_watchdog(c),
         "hyperband": lambda: case_hyperband(c),
         "all-failed": lambda: case_all_failed(c),
         "settings": lambda: case_settings(c),
         "few-seeds": lambda: case_few_seeds(c),
         "units": lambda: case_units(c),
         "docs": lambda: case_docs(c),
         "installed": lambda: case_installed(c)}[case]()
        ok = True
        log(f"tune:{case}: passed in {time.monotonic() - t0:.1f} s")
    except Failed as e:
        print(f"FAILED tune:{case}: {e}\n(files kept in {tmp})", flush=True)
        return 1
    finally:
        for pid, _ in tune_processes(tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if ok and not os.environ.get("DODGE_TUNE_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
