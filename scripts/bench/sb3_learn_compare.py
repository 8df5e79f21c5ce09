#!/usr/bin/env python3
"""Two trainers, one game: Stable-Baselines3's SAC on the Python package's env against `dodge train`,
with the same config's hyper-parameters, until level 1 is learnt from the state vector.

The config (default configs/quickstart.yaml) gives both sides the game (its env: section), the
number of games, the batch, learning rate, buffer, network, learning_starts, train_freq,
gradient_steps, gamma, tau, total steps, and the evaluation (every eval_freq env steps,
n_eval_episodes deterministic episodes on the same held-out games: seed train.seed + 1000003, as
dodge train's evaluations with train.eval_games fixed, which this script sets). SB3 trains on dodge.sb3.DodgeVecEnv (C++ games, no Python game code).

For each seed and side: wall-clock seconds (evaluations included on both sides) and env steps to
the first evaluation with mean reward >= --bar, the best and last evaluations. Prints a table and
writes JSON. Run nothing else at the same time.

usage: sb3_learn_compare.py [--config configs/quickstart.yaml] [--seeds 0,1,2] [--bar 900]
                            [--dodge build/dodge] [--sides sb3,dodge] [--json results/bench/sb3_learn.json]
"""
import argparse
import csv
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import yaml

import dodge
from dodge.sb3 import DodgeVecEnv
from machine import cpu_description  # scripts/bench/machine.py


def evaluate(model, config, seed, episodes, n_envs):
    """dodge train's evaluation: n_envs games of `seed`, env i plays (episodes + i) // n_envs episodes."""
    env = dodge.DodgeVectorEnv(n_envs, config=config, copy=False)
    target = [(episodes + i) // n_envs for i in range(n_envs)]
    done = [0] * n_envs
    returns, survived = [], 0
    obs, _ = env.reset(seed=seed)
    while len(returns) < episodes:
        actions, _ = model.predict(obs, deterministic=True)
        obs, *_ = env.step(actions)
        for game, ret, _, terminated, truncated in env.episodes_finished():
            if done[game] < target[game]:
                done[game] += 1
                returns.append(ret)
                survived += int(truncated and not terminated)
    return float(np.mean(returns)), survived / episodes


def run_sb3(cfg_path, cfg, seed, bar):
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback
    env_c, sac, train = cfg["env"], cfg.get("sac", {}), cfg["train"]
    n_envs = int(env_c.get("n_envs", 1))
    eval_freq, n_eval = int(train.get("eval_freq", 10000)), int(train.get("n_eval_episodes", 10))
    eval_envs = int(train.get("eval_envs", 0)) or min(n_eval, 16)
    eval_seed = seed + 1_000_003
    env = DodgeVecEnv(n_envs, config=cfg_path)
    model = SAC("MlpPolicy", env, learning_rate=float(sac.get("learning_rate", 3e-4)),
                buffer_size=int(float(sac.get("buffer_size", 1_000_000))), batch_size=int(sac.get("batch_size", 256)),
                learning_starts=int(float(train.get("learning_starts", 1000))), tau=float(sac.get("tau", 0.005)),
                gamma=float(sac.get("gamma", 0.99)), train_freq=int(train.get("train_freq", 1)),
                gradient_steps=int(train.get("gradient_steps", 1)),
                policy_kwargs={"net_arch": list(sac.get("net_arch", [256, 256]))}, seed=seed, device="cpu", verbose=0)
    evals = []
    t0 = time.perf_counter()

    class Eval(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next = eval_freq

        def _on_step(self):
            if self.num_timesteps >= self.next:
                self.next += eval_freq
                mean, success = evaluate(self.model, cfg_path, eval_seed, n_eval, eval_envs)
                evals.append({"step": self.num_timesteps, "seconds": time.perf_counter() - t0,
                              "mean_reward": mean, "success_rate": success})
                print(f"  sb3 seed {seed}: step {self.num_timesteps:6d}  {evals[-1]['seconds']:6.0f} s  "
                      f"eval {mean:7.1f} ({100 * success:.0f} %)", flush=True)
            return True

    model.learn(int(float(train["total_timesteps"])), callback=Eval())
    return evals, time.perf_counter() - t0


def run_dodge(dodge_bin, cfg_path, seed, tmp):
    t0 = time.perf_counter()
    subprocess.run([dodge_bin, "train", "--config", cfg_path, "--seed", str(seed), "--results", tmp,
                    "--set", "train.eval_games=fixed"],
                   check=True, capture_output=True)
    total = time.perf_counter() - t0
    name = os.path.splitext(os.path.basename(cfg_path))[0]
    run = os.path.join(tmp, name, sorted(os.listdir(os.path.join(tmp, name)))[-1])
    evals = []
    with open(os.path.join(run, "logs", "progress.csv")) as f:
        for row in csv.DictReader(f):
            if row.get("eval/mean_reward"):
                evals.append({"step": int(float(row["time/total_timesteps"])),
                              "seconds": float(row["time/time_elapsed"]),
                              "mean_reward": float(row["eval/mean_reward"]),
                              "success_rate": float(row.get("eval/success_rate") or "nan")})
    for e in evals:
        print(f"  dodge seed {seed}: step {e['step']:6d}  {e['seconds']:6.0f} s  eval {e['mean_reward']:7.1f}", flush=True)
    return evals, total


def summary(evals, total, bar):
    first = next((e for e in evals if e["mean_reward"] >= bar), None)
    best = max(evals, key=lambda e: e["mean_reward"]) if evals else None
    return {"seconds_to_bar": first["seconds"] if first else None, "steps_to_bar": first["step"] if first else None,
            "best": best, "last": evals[-1] if evals else None, "total_seconds": total, "evals": evals}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/quickstart.yaml")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--bar", type=float, default=900)
    p.add_argument("--dodge", default="build/dodge")
    p.add_argument("--sides", default="sb3,dodge")
    p.add_argument("--json", default="results/bench/sb3_learn.json")
    args = p.parse_args()
    with open(args.config) as f:
        cfg = yaml.safe_load(f)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    for side in args.sides.split(","):
        for seed in seeds:
            print(f"{side}, seed {seed}", flush=True)
            if side == "sb3":
                evals, total = run_sb3(args.config, cfg, seed, args.bar)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    evals, total = run_dodge(args.dodge, args.config, seed, tmp)
            results.setdefault(side, {})[seed] = summary(evals, total, args.bar)

    print(f"\n{'side':6} {'seed':>4} {'s to >= bar':>12} {'steps to bar':>13} {'best eval':>10} {'last eval':>10} {'total s':>8}")
    table = []
    for side, per_seed in results.items():
        for seed, s in per_seed.items():
            fmt = lambda v, f: (f % v) if v is not None else "not reached"  # noqa: E731
            print(f"{side:6} {seed:4d} {fmt(s['seconds_to_bar'], '%12.0f'):>12} {fmt(s['steps_to_bar'], '%13d'):>13} "
                  f"{s['best']['mean_reward']:10.1f} {s['last']['mean_reward']:10.1f} {s['total_seconds']:8.0f}")
        times = [s["seconds_to_bar"] for s in per_seed.values() if s["seconds_to_bar"] is not None]
        table.append({"side": side, "reached": f"{len(times)} of {len(per_seed)}",
                      "median_seconds_to_bar": statistics.median(times) if times else None,
                      "range": [min(times), max(times)] if times else None})
        print(f"{side:6}  median {table[-1]['median_seconds_to_bar']} s to >= {args.bar} ({table[-1]['reached']} seeds), "
              f"range {table[-1]['range']}")
    cpu = cpu_description()
    import stable_baselines3
    report = {"name": "sb3_learn_compare", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(sys.argv), "config": args.config, "bar": args.bar, "cpu": cpu,
              "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              "versions": {"stable_baselines3": stable_baselines3.__version__, "torch": torch.__version__},
              "summary": table, "runs": {side: {str(k): v for k, v in r.items()} for side, r in results.items()}}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
