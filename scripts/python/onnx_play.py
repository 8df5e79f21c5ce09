#!/usr/bin/env python3
"""Play dodge with an exported policy: ONNX Runtime and the Python package's env, no PyTorch.

    dodge export results/quickstart/RUN --onnx agent.onnx
    python scripts/python/onnx_play.py agent.onnx --episodes 20 [--seed S] [--envs E] [--json F]

The file carries the game it was trained on (its metadata's env.* keys) and dodge eval's default
seed (dodge.eval_seed), so it plays the episodes `dodge eval RUN --episodes N --seed S --envs E`
plays and prints the same lines: game i of seed S in env i, episodes shared out as dodge eval does.
Exit 0, or 2 with one line for bad input.
"""
import argparse
import json
import sys

import numpy as np
import onnxruntime as ort

import dodge


def fail(message):
    print(f"onnx_play: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a file written by dodge export --onnx")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, help="the game seed (default: the metadata's dodge.eval_seed, as dodge eval)")
    p.add_argument("--envs", type=int, default=16, help="games at once (dodge eval's --envs)")
    p.add_argument("--json", help="write the episodes and the summary here")
    a = p.parse_args()
    if a.episodes < 1:
        fail("--episodes must be at least 1")
    try:
        session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    except Exception as e:  # a missing or damaged file
        fail(f"{a.model}: {str(e).splitlines()[0]}")
    meta = session.get_modelmeta().custom_metadata_map
    if "input.name" not in meta:
        fail(f"{a.model}: not a dodge policy (no input.name in its metadata)")
    game = {k[4:]: v for k, v in meta.items() if k.startswith("env.") and k != "env.n_envs"}
    seed = a.seed if a.seed is not None else int(meta["dodge.eval_seed"])

    n_envs = max(1, min(a.envs, a.episodes))
    env = dodge.DodgeVectorEnv(n_envs, copy=False, **game)
    # Env i plays (episodes + i) // n_envs episodes, as dodge eval shares them out.
    target = [(a.episodes + i) // n_envs for i in range(n_envs)]
    done = [0] * n_envs
    records = []
    obs, _ = env.reset(seed=seed)
    while len(records) < a.episodes:
        action = session.run([meta["output.name"]], {meta["input.name"]: obs})[0]
        obs, _, _, _, _ = env.step(action)
        for g, ret, length, terminated, truncated in env.episodes_finished():
            if done[g] >= target[g]:
                continue
            done[g] += 1
            survived = bool(truncated and not terminated)
            records.append({"return": ret, "length": length, "survived": survived, "game": g, "game_episode": done[g]})
            print(f"episode {len(records):3d} (game {g} #{done[g]}): return {ret:8.1f}  length {length:4d}  "
                  f"{'survived' if survived else 'hit'}")
    returns = np.array([r["return"] for r in records])
    lengths = np.array([r["length"] for r in records])
    wins = sum(r["survived"] for r in records)
    print(f"\nmean return {returns.mean():.1f} +/- {returns.std():.1f}  (min {returns.min():.1f}, max {returns.max():.1f})")
    print(f"mean length {lengths.mean():.1f} +/- {lengths.std():.1f}")
    print(f"success rate {100 * wins / len(records):.1f}% ({wins} of {len(records)} episodes reached "
          f"{game['max_episode_steps']} steps)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "seed": seed, "episodes": records, "mean_return": float(returns.mean()),
                       "success_rate": wins / len(records)}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
