#!/usr/bin/env python3
"""Steps/s of dodge's game from Python, against `dodge bench env` in the same run.

For N games (default 1, 16, 256) and two observations (the state vector, 84x84 grey frames):
  - dodge bench env: the C++ VecEnv into preallocated buffers (the ceiling);
  - dodge.DodgeVectorEnv, copy=False (views) and copy=True (gymnasium's default);
  - gymnasium's SyncVectorEnv of Dodge-v0 (how a Python env is usually batched);
  - EnvPool (PyPI), when importable (--envpool-path adds a folder to sys.path): CartPole-v1 for the
    state vector, Pong-v5 (84x84 grey, frame stack 1) for pixels, as references.
Same game settings on every dodge row (level, frame_skip 1, max_episode_steps 1000, frame stack 1, as
`dodge bench env`), random actions drawn before the timing, the same thread count (1 below 64 games,
else every core, dodge's default). Each figure is the median of --repeats timed runs after a warm-up.
Prints a table and writes JSON (machine, date, versions, every row).

usage: python_env.py [--dodge build/dodge] [--envs 1,16,256] [--seconds 1.0] [--repeats 5]
                     [--envpool-path DIR] [--json results/bench/python_env.json]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np

import dodge
from machine import cpu_description  # scripts/bench/machine.py

OBS = {
    "state": {"observation_mode": "standard"},
    "84 grey": {"observation_mode": "topdown", "image_width": 84, "image_height": 84, "image_grayscale": True},
}


def threads_for(n):
    return 1 if n < 64 else (os.cpu_count() or 1)


def time_loop(step, n, seconds, repeats):
    """Median steps/s (game steps: calls x n) over repeats of about `seconds` each, after a warm-up."""
    calls = 1
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds / 2:  # warm-up, and a call count that fills `seconds`
        for _ in range(calls):
            step()
        calls *= 2
    per_call = (time.perf_counter() - t0) / (2 * calls - 1)
    calls = max(1, int(seconds / per_call))
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            step()
        rates.append(calls * n / (time.perf_counter() - t))
    return statistics.median(rates), min(rates), max(rates)


def actions(n, dim=3, batches=16, seed=3):
    a = np.random.default_rng(seed).uniform(-1, 1, (batches, n, dim)).astype(np.float32)
    return [a[i] for i in range(batches)]


def time_env(env, n, seconds, repeats):
    """A gymnasium vector env's steps/s on pre-drawn random actions, after reset(seed=1)."""
    env.reset(seed=1)
    acts, i = actions(n), [0]

    def step():
        env.step(acts[i[0] & 15])
        i[0] += 1
    return time_loop(step, n, seconds, repeats)


def bench_vector(keys, n, copy, seconds, repeats):
    env = dodge.DodgeVectorEnv(n, copy=copy, threads=threads_for(n), level=2, **keys)
    return time_env(env, n, seconds, repeats)


def bench_sync(keys, n, seconds, repeats):
    env = gym.vector.SyncVectorEnv([lambda: dodge.DodgeEnv(level=2, **keys) for _ in range(n)])
    return time_env(env, n, seconds, repeats)


def bench_envpool(kind, n, seconds, repeats):
    import envpool
    if kind == "state":
        task, extra = "CartPole-v1", {}
        env = envpool.make(task, env_type="gymnasium", num_envs=n, num_threads=threads_for(n))
        acts = [np.random.default_rng(i).integers(0, 2, n).astype(np.int32) for i in range(16)]
    else:
        task, extra = "Pong-v5", {"stack_num": 1, "img_height": 84, "img_width": 84, "gray_scale": True}
        env = envpool.make(task, env_type="gymnasium", num_envs=n, num_threads=threads_for(n), **extra)
        acts = [np.random.default_rng(i).integers(0, 6, n).astype(np.int32) for i in range(16)]
    env.reset()
    i = [0]

    def step():
        env.step(acts[i[0] & 15])
        i[0] += 1
    return task, time_loop(step, n, seconds, repeats)


def bench_cpp(dodge_bin, obs, envs, seconds, repeats):
    """dodge bench env rows keyed by (envs, threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "env.json")
        threads = sorted({threads_for(n) for n in envs})
        cmd = [dodge_bin, "bench", "env", "--level", "2", "--envs", ",".join(map(str, envs)),
               "--threads", ",".join(map(str, threads)), "--repeats", str(repeats), "--warmup", str(seconds / 2),
               "--json", out]
        # About `seconds` per repeat at the rates measured here (~10M steps/s state, ~1M/s pixels).
        cmd += ["--steps", str(int(seconds * (4_000_000 if obs == "state" else 400_000)))]
        if obs == "state":
            cmd += ["--obs", "standard"]
        else:
            cmd += ["--obs", "topdown", "--res", "84", "--grey"]
        subprocess.run(cmd, check=True, capture_output=True)
        with open(out) as f:
            report = json.load(f)
    shown = [a for a in cmd[1:] if a != out and a != "--json"]
    return {(int(r["envs"]), int(r["threads"])): r for r in report["rows"]}, "dodge " + " ".join(shown)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dodge", default="build/dodge")
    p.add_argument("--envs", default="1,16,256")
    p.add_argument("--seconds", type=float, default=1.0, help="seconds per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--envpool-path", help="a folder holding envpool (pip install --target DIR envpool ...)")
    p.add_argument("--json", default="results/bench/python_env.json")
    args = p.parse_args()
    envs = [int(x) for x in args.envs.split(",")]
    if args.envpool_path:
        sys.path.insert(0, args.envpool_path)
    try:
        import envpool  # noqa: F401
        have_envpool = True
    except Exception as e:  # noqa: BLE001 - any import failure means "not measured"
        have_envpool = False
        print(f"EnvPool not measured: {type(e).__name__}: {e}")

    rows = []
    commands = {}
    for obs, keys in OBS.items():
        cpp, commands[obs] = bench_cpp(args.dodge, obs, envs, args.seconds, args.repeats)
        for n in envs:
            t = threads_for(n)
            c = cpp[(n, t)]
            base = c["steps/s"]
            rows.append({"obs": obs, "envs": n, "threads": t, "what": "dodge bench env (C++)",
                         "steps/s": base, "min": c["min"], "max": c["max"]})
            measured = [("DodgeVectorEnv copy=False", bench_vector(keys, n, False, args.seconds, args.repeats)),
                        ("DodgeVectorEnv copy=True", bench_vector(keys, n, True, args.seconds, args.repeats))]
            if n <= 256:
                measured.append(("SyncVectorEnv(Dodge-v0)", bench_sync(keys, n, args.seconds, args.repeats)))
            if have_envpool:
                try:
                    task, r = bench_envpool(obs if obs == "state" else "pixels", n, args.seconds, args.repeats)
                    measured.append((f"EnvPool {task}", r))
                except Exception as e:  # noqa: BLE001
                    print(f"EnvPool {obs} N={n} failed: {e}")
            for what, (med, lo, hi) in measured:
                row = {"obs": obs, "envs": n, "threads": t, "what": what, "steps/s": med, "min": lo, "max": hi}
                if what.startswith("Dodge"):
                    row["of_cpp"] = med / base
                    # Python's cost per call beyond the C++ step: 1/rate_py - 1/rate_cpp, per call of n games.
                    row["overhead_us_per_call"] = (n / med - n / base) * 1e6
                rows.append(row)

    print(f"\n{'obs':8} {'N':>4} {'T':>2}  {'what':30} {'steps/s':>12} {'of C++':>7} {'overhead/call':>14}")
    for r in rows:
        extra = f"{100 * r['of_cpp']:6.1f}% {r['overhead_us_per_call']:11.2f} us" if "of_cpp" in r else ""
        print(f"{r['obs']:8} {r['envs']:4d} {r['threads']:2d}  {r['what']:30} {r['steps/s']:12,.0f} {extra}")
    cpu = cpu_description()
    report = {"name": "python_env", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
              "versions": {"gymnasium": gym.__version__, "numpy": np.__version__, "dodge": dodge.__version__},
              "command": " ".join(sys.argv), "cpp_commands": commands, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
