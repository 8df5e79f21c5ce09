#!/usr/bin/env python3
"""Stable-Baselines3 side by side with `dodge bench`: SAC updates/s and the whole training loop.

SB3 side: the real SAC("CnnPolicy") on a dummy gymnasium env with dodge's mission spaces
(observations Box(0, 255, (4, 84, 84), uint8), channel-first so SB3 does not transpose; actions
Box(-1, 1, (3,))), NatureCNN features_dim 512, net_arch [256, 256], images divided by 255.
  - update: the replay buffer is filled with random transitions, then SB3's own
    model.train(gradient_steps=N, batch_size=B) is timed after a warm-up, with separate encoders
    (share_features_extractor=False, SB3's default) and a shared one (True);
  - learn: model.learn() on the dummy env, train_freq 1 and one gradient step per env step,
    timed per env step after learning_starts random steps and a few updates.
dodge side: `dodge bench update --encoder separate,shared` and `dodge bench train` (the mission's
config, encoder separate as SB3's default) with the same batch, the same number of envs and updates
per env step, and the same thread count (OMP_NUM_THREADS for dodge, torch.set_num_threads here).
SB3 does no augmentation, so dodge runs with --augment none unless told otherwise.

Prints one table (side, encoder, updates/s, ratio dodge/SB3) and the learn-loop line, and writes
everything to a JSON file (versions, threads, machine, date).

usage: sb3_compare.py [--dodge build/dodge] [--threads T] [--steps N] [--batch 128]
                      [--device cpu|cuda] [--dodge-precision tf32,bf16] [--skip-learn]
                      [--json results/bench/sb3_compare.json]
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
import stable_baselines3
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.torch_layers import NatureCNN
from stable_baselines3.common.vec_env import DummyVecEnv, VecTransposeImage

OBS_SHAPE = (4, 84, 84)  # 84x84 grey, a stack of 4, channel first
ACTION_DIM = 3
DODGE_CONFIG = "configs/sac_topdown_sb3.yaml"  # SB3's recipe, network and all


class DummyDodgeEnv(gym.Env):
    """dodge's mission spaces with random frames (from a small pool, so that the env costs nothing)."""

    def __init__(self, seed=0, episode_steps=1000):
        self.observation_space = spaces.Box(0, 255, OBS_SHAPE, np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        rng = np.random.default_rng(seed)
        self.pool = rng.integers(0, 256, (16, *OBS_SHAPE), dtype=np.uint8)
        self.episode_steps = episode_steps
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.pool[0], {}

    def step(self, action):
        self.t += 1
        obs = self.pool[self.t % len(self.pool)]
        return obs, 1.0, False, self.t >= self.episode_steps, {}


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def make_sac(shared, args, n_envs=1, learning_starts=0, buffer_size=None):
    env = DummyVecEnv([lambda i=i: DummyDodgeEnv(seed=i) for i in range(n_envs)])
    model = SAC(
        "CnnPolicy", env,
        buffer_size=buffer_size or args.fill,
        learning_starts=learning_starts,
        batch_size=args.batch,
        train_freq=1,
        gradient_steps=n_envs,  # one update per env step
        optimize_memory_usage=False,
        policy_kwargs=dict(
            features_extractor_class=NatureCNN,
            features_extractor_kwargs=dict(features_dim=512),
            net_arch=[256, 256],
            normalize_images=True,
            share_features_extractor=shared,
        ),
        device=args.device,
        seed=0,
        verbose=0,
    )
    # Check that SB3 sees what dodge sees: no transposition, NatureCNN on (4, 84, 84) uint8.
    assert not isinstance(model.get_env(), VecTransposeImage), "SB3 wrapped the env in VecTransposeImage"
    assert model.observation_space.shape == OBS_SHAPE
    fe = model.actor.features_extractor
    assert isinstance(fe, NatureCNN) and fe.features_dim == 512 and fe.cnn[0].in_channels == OBS_SHAPE[0]
    assert (model.critic.features_extractor is fe) == shared
    return model


def fill_replay(model, n, seed=1):
    """n random transitions through SB3's own ReplayBuffer.add (one env)."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, (32, 1, *OBS_SHAPE), dtype=np.uint8)
    for i in range(n):
        model.replay_buffer.add(
            pool[i % 32], pool[(i + 1) % 32],
            rng.uniform(-1, 1, (1, ACTION_DIM)).astype(np.float32),
            rng.standard_normal(1).astype(np.float32), np.zeros(1, np.float32), [{}])


def sb3_update_rate(shared, args):
    model = make_sac(shared, args)
    fill_replay(model, args.fill)
    # train() logs through model.logger, which learn() would set up: an empty logger here.
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.train(gradient_steps=args.warmup, batch_size=args.batch)
    sync(args.device)
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        model.train(gradient_steps=args.steps, batch_size=args.batch)
        sync(args.device)
        rates.append(args.steps / (time.perf_counter() - t0))
    return rates


def sb3_learn_rate(args):
    """Env steps/s of SB3's learn() loop (= updates/s: one update per env step)."""
    n = args.envs
    model = make_sac(False, args, n_envs=n, learning_starts=args.learn_warmup,
                     buffer_size=args.learn_warmup + args.learn_steps + 4 * n + 1000)
    # learning_starts random steps, then two steps of each env with updates to warm up.
    model.learn(total_timesteps=args.learn_warmup + 2 * n)
    sync(args.device)
    steps0, updates0 = model.num_timesteps, model._n_updates
    t0 = time.perf_counter()
    model.learn(total_timesteps=args.learn_steps, reset_num_timesteps=False)
    sync(args.device)
    elapsed = time.perf_counter() - t0
    steps, updates = model.num_timesteps - steps0, model._n_updates - updates0
    assert steps == args.learn_steps and updates == steps, (steps, updates)
    return steps / elapsed, updates


def run_dodge(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    print("$ OMP_NUM_THREADS=%d %s" % (threads, " ".join(cmd)), flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"sb3_compare: {' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout}")
    return p.stdout


def dodge_update(args, tmp):
    out = os.path.join(tmp, "update.json")
    cmd = [args.dodge, "bench", "update", "--batch", str(args.batch), "--encoder", "separate,shared",
           "--augment", args.augment, "--steps", str(args.steps), "--repeats", str(args.repeats),
           "--warmup", str(args.warmup), "--device", args.device, "--precision", args.dodge_precision,
           "--json", out]
    text = run_dodge(cmd, args.threads)
    with open(out) as f:
        report = json.load(f)
    rates = {("shared" if row["shared"] else "separate", row["precision"]): row["updates/s"]
             for row in report["rows"]}
    return rates, report, text


def dodge_train(args, tmp):
    out = os.path.join(tmp, "train.json")
    cmd = [args.dodge, "bench", "train", "--config", args.dodge_config, "--envs", str(args.envs),
           "--steps", str(args.learn_steps), "--warmup", str(args.learn_warmup), "--device", args.device,
           "--set", f"sac.batch_size={args.batch}", "--set", "sac.encoder_mode=separate",
           "--set", f"sac.augment={args.augment}", "--json", out]
    text = run_dodge(cmd, args.threads)
    with open(out) as f:
        report = json.load(f)
    return report["rows"][0]["env steps/s"], report, text


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def dodge_version(path):
    try:
        return subprocess.run([path, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    except OSError as e:
        sys.exit(f"sb3_compare: cannot run {path}: {e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dodge", default="build/dodge", help="the dodge executable (build-cuda/dodge for --device cuda)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads on both sides")
    p.add_argument("--steps", type=int, default=20, help="timed updates per repeat (both sides)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up updates")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--fill", type=int, default=1000, help="random transitions in SB3's replay buffer")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--augment", default="none", choices=["none", "random_shift"],
                   help="dodge's augmentation (SB3 has none)")
    p.add_argument("--envs", type=int, default=8, help="envs in the learn loop (the mission's n_envs)")
    p.add_argument("--learn-steps", type=int, default=64, help="timed env steps of the learn loop")
    p.add_argument("--learn-warmup", type=int, default=256, help="random env steps before the updates start")
    p.add_argument("--dodge-config", default=DODGE_CONFIG, help="config for dodge bench train")
    p.add_argument("--skip-learn", action="store_true", help="only the update benchmark")
    p.add_argument("--dodge-precision", default="tf32",
                   help="dodge's precisions, comma list (tf32 is fp32 on the CPU; bf16 autocasts the encoders, "
                        "what precision: auto picks on a CPU with native bf16); SB3 runs fp32")
    p.add_argument("--json", default="results/bench/sb3_compare.json")
    args = p.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("sb3_compare: --device cuda but torch sees no CUDA device")
    if args.learn_steps % args.envs or args.learn_warmup % args.envs:
        sys.exit("sb3_compare: --learn-steps and --learn-warmup must be multiples of --envs")
    torch.set_num_threads(args.threads)
    version = dodge_version(args.dodge)
    print(f"sb3_compare: SB3 {stable_baselines3.__version__}, torch {torch.__version__}, {version}, "
          f"{args.device}, {args.threads} threads, batch {args.batch}, {OBS_SHAPE} uint8", flush=True)

    rows = []
    with tempfile.TemporaryDirectory(prefix="sb3_compare_") as tmp:
        dodge_rates, dodge_update_report, dodge_update_text = dodge_update(args, tmp)
        for encoder in ("separate", "shared"):
            t0 = time.perf_counter()
            rates = sb3_update_rate(encoder == "shared", args)
            sb3 = statistics.median(rates)
            print(f"SB3 update, {encoder}: {sb3:.2f} updates/s (repeats {', '.join(f'{r:.2f}' for r in rates)}; "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
            rows.append({"side": "SB3", "encoder": encoder, "updates_per_s": sb3, "repeats": rates})
            for precision in args.dodge_precision.split(","):
                rate = dodge_rates[(encoder, precision)]
                rows.append({"side": "dodge", "encoder": encoder, "precision": precision, "updates_per_s": rate,
                             "ratio_dodge_sb3": rate / sb3})

        learn = None
        if not args.skip_learn:
            sb3_rate, sb3_updates = sb3_learn_rate(args)
            dodge_rate, dodge_train_report, _ = dodge_train(args, tmp)
            learn = {"envs": args.envs, "updates_per_env_step": 1, "encoder": "separate", "timed_env_steps": args.learn_steps,
                     "sb3_timed_updates": sb3_updates, "warmup_env_steps": args.learn_warmup, "sb3_env_steps_per_s": sb3_rate,
                     "dodge_env_steps_per_s": dodge_rate, "ratio_dodge_sb3": dodge_rate / sb3_rate,
                     "dodge_config": args.dodge_config, "dodge_report": dodge_train_report}

    print()
    print(f"SAC update, batch {args.batch}, 84x84 grey x4, {args.device}, {args.threads} threads "
          f"(dodge augment {args.augment}; SB3 none)")
    print(f"{'side':6s} {'encoder':9s} {'precision':9s} {'updates/s':>10s} {'dodge/SB3':>10s}")
    for r in rows:
        ratio = f"{r['ratio_dodge_sb3']:.2f}x" if "ratio_dodge_sb3" in r else ""
        print(f"{r['side']:6s} {r['encoder']:9s} {r.get('precision', 'fp32'):9s} {r['updates_per_s']:10.2f} {ratio:>10s}")
    if learn:
        print(f"learn loop ({args.envs} envs, one update per env step, separate encoders): "
              f"SB3 {learn['sb3_env_steps_per_s']:.2f} env steps/s, dodge {learn['dodge_env_steps_per_s']:.2f} "
              f"env steps/s, dodge/SB3 {learn['ratio_dodge_sb3']:.2f}x")

    result = {
        "benchmark": "sb3_compare",
        "command": " ".join([sys.executable] + sys.argv),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "logical_cores": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                    "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "stable_baselines3": stable_baselines3.__version__, "gymnasium": gym.__version__,
                     "numpy": np.__version__, "dodge": version},
        "settings": {"device": args.device, "threads": args.threads, "batch": args.batch, "obs_shape": list(OBS_SHAPE),
                     "action_dim": ACTION_DIM, "features_dim": 512, "net_arch": [256, 256], "steps": args.steps,
                     "repeats": args.repeats, "warmup": args.warmup, "sb3_replay_fill": args.fill,
                     "dodge_augment": args.augment, "dodge": args.dodge,
                     "dodge_precision": args.dodge_precision},
        "update": rows,
        "learn": learn,
        "dodge_update_report": dodge_update_report,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
