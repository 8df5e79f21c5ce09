"""The Python env plays dodge's own games: the frames `dodge dump-obs` writes, and the episodes of
`dodge eval` with the same policy (scripts/python/policy_example.py)."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import dodge

ROOT = pathlib.Path(__file__).resolve().parents[2]
DODGE = os.environ.get("DODGE_BINARY", str(ROOT / "build" / "dodge"))
needs_dodge = pytest.mark.skipif(not os.access(DODGE, os.X_OK), reason=f"no dodge binary at {DODGE} (set DODGE_BINARY)")


def dodge_run(*args, cwd=None):
    r = subprocess.run([DODGE, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@needs_dodge
@pytest.mark.parametrize("keys", [
    {"level": "2", "observation_mode": "topdown", "frame_stack": "4", "image_width": "84", "image_height": "84"},
    {"level": "1", "observation_mode": "topdown", "frame_stack": "3", "image_width": "48", "image_height": "40",
     "image_grayscale": "false", "frame_skip": "4", "max_episode_steps": "15"},
])
def test_frames_equal_dump_obs(tmp_path, keys):
    seed, steps = 17, 40
    sets = [a for k, v in keys.items() for a in ("--set", f"env.{k}={v}")]
    dodge_run("dump-obs", *sets, "--seed", seed, "--steps", steps, "--out", tmp_path)
    meta = json.loads((tmp_path / "stacks.json").read_text())
    stacks = np.fromfile(tmp_path / "stacks.bin", np.uint8).reshape(meta["shape"])
    actions = np.array(json.loads((tmp_path / "actions.json").read_text())["actions"], np.float32)
    assert stacks.shape[0] == steps and actions.shape == (steps, 3)
    # dump-obs steps one game with NEXT_STEP autoreset (the step after an end starts the next
    # episode, its action unused): the vector env's default, and Dodge-v0 with a reset there.
    venv = dodge.DodgeVectorEnv(1, **keys)
    vobs, _ = venv.reset(seed=seed)
    env = dodge.DodgeEnv(**keys)
    obs, _ = env.reset(seed=seed)
    ends, ended = 0, False
    for i in range(steps):
        assert np.array_equal(vobs[0], stacks[i]), f"vector env: stack {i} differs"
        assert np.array_equal(obs, stacks[i]), f"Dodge-v0: stack {i} differs"
        vobs, _, term, trunc, _ = venv.step(actions[i : i + 1])
        if ended:
            obs, _ = env.reset()
            ended = False
        else:
            obs, _, t1, t2, _ = env.step(actions[i])
            ended = t1 or t2
        ends += int(term[0] or trunc[0])
    # The second config's 15-step episodes end inside the dump: the next episode's frames match too.
    assert (ends > 0) == ("max_episode_steps" in keys)

@needs_dodge
def test_policy_example_plays_dodge_evals_episodes(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("""env:
  level: 2
  max_episode_steps: 60
  frame_skip: 2
  n_envs: 2
sac:
  buffer_size: 5000
  batch_size: 32
  net_arch: [32, 32]
train:
  total_timesteps: 1500
  learning_starts: 300
  eval_freq: 0
  checkpoint_freq: 0
  log_interval: 500
  threads: 1
  seed: 3
  device: cpu
""")
    dodge_run("train", "--config", cfg, "--results", tmp_path / "r")
    run = next((tmp_path / "r" / "tiny").iterdir())
    ckpt = run / "final"
    for envs, seed in [(1, 5), (3, 77)]:
        ours = tmp_path / f"eval_{envs}.json"
        dodge_run("eval", ckpt, "--episodes", 6, "--envs", envs, "--seed", seed, "--json", ours)
        py = tmp_path / f"py_{envs}.json"
        r = subprocess.run([sys.executable, ROOT / "scripts" / "python" / "policy_example.py", ckpt, "--episodes", "6",
                            "--envs", str(envs), "--seed", str(seed), "--json", py], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        a = {(e["game"], e["game_episode"]): e for e in json.loads(ours.read_text())["episodes"]}
        b = {(e["game"], e["game_episode"]): e for e in json.loads(py.read_text())["episodes"]}
        assert a.keys() == b.keys() and len(a) == 6
        for k in a:
            # LibTorch and PyTorch may round the last bit of an action differently.
            assert a[k]["length"] == b[k]["length"] and a[k]["survived"] == b[k]["survived"], k
            assert abs(a[k]["return"] - b[k]["return"]) <= 1e-3 * max(1.0, abs(a[k]["return"])), k
