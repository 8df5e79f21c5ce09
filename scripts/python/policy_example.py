#!/usr/bin/env python3
"""Run a dodge policy in plain PyTorch: an example of using policy.pt outside dodge.

Two uses:
  policy_example.py CKPT_DIR --episodes N [--seed S] [--envs E] [--json F]
      plays N episodes of the checkpoint's game (its config.yaml's env section) in the Python
      package's vector env (python/, `import dodge`), deterministic actions, and prints what
      `dodge eval CKPT_DIR --episodes N --seed S --envs E` prints for them: env i plays game i of
      seed S (default: train.seed + 2000003, as dodge eval), episodes shared out as dodge eval does.
  policy_example.py CKPT_DIR OBS_DIR
      computes the actions for observation stacks that `dodge dump-obs` wrote (below).

Loads CKPT_DIR/policy.pt (a dict of CPU tensors: encoder.* and actor.*) and CKPT_DIR/manifest.json
into a torch.nn.Module that mirrors src/learn/networks.cpp: for images (uint8 input divided by 255)
the encoder is NatureCNN (conv 32x8/4, 64x4/2, 64x3/1) or DrQ (conv 32x3/2, then three 32x3/1),
ReLU after each convolution, then a linear layer followed by ReLU or, with the manifest's
layer_norm, by LayerNorm and tanh; for state vectors a flatten; the actor is a trunk of Linear+ReLU per net_arch entry, then the mu and
log_std heads; the deterministic action is tanh(mu).

It computes the deterministic action for every observation stack in OBS_DIR (written by
`dodge dump-obs`): stacks.bin (uint8 images or little-endian float32 vectors, C order) with
stacks.json ({"shape": [steps, k*C, H, W] or [steps, k*D], "dtype": "uint8" | "float32"}),
prints them, and when OBS_DIR/actions.json exists ({"deterministic_actions": [[...], ...]},
dodge's own actions for the same stacks) checks that they agree within --tol.

usage: policy_example.py CKPT_DIR OBS_DIR [--tol 1e-4] [--quiet]
       policy_example.py CKPT_DIR --episodes N [--seed S] [--envs E] [--json F]
exit: 0 done (and equal to actions.json), 1 differs from actions.json, 2 bad input.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_out(n, layers):
    for k, stride in layers:
        n = (n - k) // stride + 1
    return n


class ConvEncoder(nn.Module):
    """Keys conv1..conv3 (conv4 for DrQ), fc and norm, as ConvEncoderImpl registers them."""

    KINDS = {  # manifest name: (channels, [(kernel, stride), ...])
        "NatureCNN": ([32, 64, 64], [(8, 4), (4, 2), (3, 1)]),
        "DrQ": ([32, 32, 32, 32], [(3, 2), (3, 1), (3, 1), (3, 1)]),
    }

    def __init__(self, kind, c, h, w, features_dim, layer_norm, conv1=None):
        super().__init__()
        channels, layers = self.KINDS[kind]
        if conv1:  # the manifest's [kernel, stride] of the first layer (older manifests: the kind's own)
            layers = [tuple(conv1)] + layers[1:]
        self.n_convs = len(layers)
        for i, (out_c, (k, stride)) in enumerate(zip(channels, layers)):
            setattr(self, f"conv{i + 1}", nn.Conv2d(c, out_c, k, stride=stride))
            c = out_c
        self.fc = nn.Linear(c * conv_out(h, layers) * conv_out(w, layers), features_dim)
        self.norm = nn.LayerNorm(features_dim) if layer_norm else None

    def forward(self, x):
        x = x.float() / 255.0
        for i in range(self.n_convs):
            x = F.relu(getattr(self, f"conv{i + 1}")(x))
        x = self.fc(x.flatten(1))
        return torch.tanh(self.norm(x)) if self.norm is not None else F.relu(x)


class Encoder(nn.Module):
    """A ConvEncoder (key encoder.cnn.*) for [k*C, H, W] observations, a flatten for [k*D] ones."""

    def __init__(self, obs_shape, arch):
        super().__init__()
        if len(obs_shape) == 3:
            self.cnn = ConvEncoder(arch["encoder"], *obs_shape, arch["features_dim"], arch.get("layer_norm", False),
                                   arch.get("conv1"))
            self.out_dim = arch["features_dim"]
        else:
            self.cnn = None
            self.out_dim = int(np.prod(obs_shape))

    def forward(self, obs):
        return self.cnn(obs) if self.cnn is not None else obs.float().flatten(1)


class Actor(nn.Module):
    """trunk (Linear, ReLU, Linear, ReLU, ...: keys trunk.0, trunk.2, ...), mu and log_std heads."""

    def __init__(self, in_dim, net_arch, action_dim):
        super().__init__()
        layers, d = [], in_dim
        for h in net_arch:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.trunk = nn.Sequential(*layers)
        self.mu = nn.Linear(d, action_dim)
        self.log_std = nn.Linear(d, action_dim)

    def forward(self, features):
        h = self.trunk(features)
        return self.mu(h), self.log_std(h).clamp(-20.0, 2.0)


class Policy(nn.Module):
    def __init__(self, manifest):
        super().__init__()
        arch = manifest["architecture"]
        obs_shape = manifest["observation_shape"]
        self.encoder = Encoder(obs_shape, arch)
        self.actor = Actor(self.encoder.out_dim, arch["net_arch"], manifest["action_dim"])

    @torch.no_grad()
    def deterministic_action(self, obs):
        mu, _ = self.actor(self.encoder(obs))
        return torch.tanh(mu)


def fail(message):
    print(f"policy_example: {message}", file=sys.stderr)
    sys.exit(2)


def load_tensor_dict(path):
    """torch.load of dodge's policy.pt. LibTorch's pickle_save tags the dict's type with
    torch.jit._pickle.restore_type_tag (a function that returns its argument), which torch >= 2.6's
    default weights_only=True loader refuses unless it is allowlisted; torch 1.13 needs nothing."""
    if hasattr(torch.serialization, "safe_globals"):
        from torch.jit._pickle import restore_type_tag
        with torch.serialization.safe_globals([restore_type_tag]):
            return torch.load(path, map_location="cpu", weights_only=True)
    return torch.load(path, map_location="cpu")


def load_policy(ckpt_dir):
    manifest_path = os.path.join(ckpt_dir, "manifest.json")
    weights_path = os.path.join(ckpt_dir, "policy.pt")
    for path in (manifest_path, weights_path):
        if not os.path.isfile(path):
            fail(f"{path} is missing (pass a checkpoint folder: RUN/final, RUN/best or RUN/checkpoints/step_N)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    policy = Policy(manifest)
    state = load_tensor_dict(weights_path)
    try:
        policy.load_state_dict(state, strict=True)
    except RuntimeError as e:
        fail(f"{weights_path} does not match the network manifest.json describes: {e}")
    return policy.eval(), manifest


def load_stacks(obs_dir):
    for name in ("stacks.json", "stacks.bin"):
        if not os.path.isfile(os.path.join(obs_dir, name)):
            fail(f"{os.path.join(obs_dir, name)} is missing (write it with dodge dump-obs)")
    with open(os.path.join(obs_dir, "stacks.json")) as f:
        meta = json.load(f)
    dtype = {"uint8": np.dtype(np.uint8), "float32": np.dtype("<f4")}.get(meta["dtype"])
    if dtype is None:
        fail(f"{obs_dir}/stacks.json: dtype {meta['dtype']!r}, expected uint8 or float32")
    data = np.fromfile(os.path.join(obs_dir, "stacks.bin"), dtype=dtype)
    shape = [int(n) for n in meta["shape"]]
    if data.size != int(np.prod(shape)):
        fail(f"{obs_dir}/stacks.bin holds {data.size} values, stacks.json's shape {shape} needs {int(np.prod(shape))}")
    # Little-endian float32 to the machine's float32 (no copy on x86).
    return torch.from_numpy(data.reshape(shape).astype(dtype.newbyteorder("="), copy=False))


def play(policy, args):
    """dodge eval's loop over the Python package's env: same games, same episodes, same summary."""
    try:
        import dodge
        import yaml
    except ImportError as e:
        fail(f"--episodes needs the Python package dodge (scripts/py-package.sh or pip install .): {e}")
    config = os.path.join(args.ckpt_dir, "config.yaml")
    if not os.path.isfile(config):
        fail(f"{config} is missing (pass a checkpoint folder: RUN/final, RUN/best or RUN/checkpoints/step_N)")
    seed = args.seed
    if seed is None:
        with open(config) as f:
            seed = int(yaml.safe_load(f).get("train", {}).get("seed", 0)) + 2_000_003
    n_envs = max(1, min(args.envs, args.episodes))
    try:
        env = dodge.DodgeVectorEnv(n_envs, config=config, copy=False)
    except ValueError as e:
        fail(str(e))
    # Env i plays (episodes + i) // n_envs episodes, as dodge eval (and SB3's evaluate_policy) shares them.
    target = [(args.episodes + i) // n_envs for i in range(n_envs)]
    done = [0] * n_envs
    max_steps = int(env.settings["max_episode_steps"])
    records = []
    obs, _ = env.reset(seed=seed)
    while len(records) < args.episodes:
        actions = policy.deterministic_action(torch.from_numpy(obs)).numpy()
        obs, _, _, _, _ = env.step(actions)
        for game, ret, length, terminated, truncated in env.episodes_finished():
            if done[game] >= target[game]:
                continue
            done[game] += 1
            survived = truncated and not terminated
            records.append({"return": ret, "length": length, "survived": survived, "game": game,
                            "game_episode": done[game]})
            print(f"episode {len(records):3d} (game {game} #{done[game]}): return {ret:8.1f}  length {length:4d}  "
                  f"{'survived' if survived else 'hit'}")
    returns = np.array([r["return"] for r in records])
    lengths = np.array([r["length"] for r in records])
    wins = sum(r["survived"] for r in records)
    print(f"\nmean return {returns.mean():.1f} +/- {returns.std():.1f}  (min {returns.min():.1f}, max {returns.max():.1f})")
    print(f"mean length {lengths.mean():.1f} +/- {lengths.std():.1f}")
    print(f"success rate {100 * wins / len(records):.1f}% ({wins} of {len(records)} episodes reached {max_steps} steps)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"checkpoint": args.ckpt_dir, "seed": seed, "episodes": records,
                       "mean_return": float(returns.mean()), "success_rate": wins / len(records)}, f, indent=2)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ckpt_dir", help="a dodge checkpoint folder (with policy.pt and manifest.json)")
    parser.add_argument("obs_dir", nargs="?", help="a folder written by dodge dump-obs (stacks.bin, stacks.json)")
    parser.add_argument("--tol", type=float, default=1e-4, help="max abs difference from actions.json")
    parser.add_argument("--quiet", action="store_true", help="do not print every action")
    parser.add_argument("--episodes", type=int, help="play this many episodes in the Python package's env")
    parser.add_argument("--seed", type=int, help="with --episodes: the game seed (default train.seed + 2000003)")
    parser.add_argument("--envs", type=int, default=16, help="with --episodes: games at once (dodge eval's --envs)")
    parser.add_argument("--json", help="with --episodes: write the episodes and the summary here")
    args = parser.parse_args()
    if (args.obs_dir is None) == (args.episodes is None):
        fail("give either OBS_DIR or --episodes N")
    if args.episodes is not None and args.episodes < 1:
        fail("--episodes must be at least 1")

    policy, manifest = load_policy(args.ckpt_dir)
    if args.episodes is not None:
        return play(policy, args)
    stacks = load_stacks(args.obs_dir)
    if list(stacks.shape[1:]) != list(manifest["observation_shape"]):
        fail(f"the stacks have shape {list(stacks.shape[1:])}, the checkpoint expects {manifest['observation_shape']}")
    image = manifest["architecture"]["encoder"] != "flatten"
    if image != (stacks.dtype == torch.uint8):
        fail(f"the stacks are {stacks.dtype}, the checkpoint's encoder ({manifest['architecture']['encoder']}) "
             f"expects {'uint8' if image else 'float32'}")

    actions = torch.cat([policy.deterministic_action(b) for b in stacks.split(256)]) if len(stacks) else \
        torch.zeros(0, manifest["action_dim"])
    print(f"{args.ckpt_dir}: {manifest['architecture']['encoder']} encoder, observation {manifest['observation_shape']}, "
          f"step {manifest.get('step')}; {len(actions)} stacks from {args.obs_dir} (torch {torch.__version__})")
    if not args.quiet:
        for i, a in enumerate(actions.tolist()):
            print(f"{i:6d} " + " ".join(f"{v:+.6f}" for v in a))

    expected_path = os.path.join(args.obs_dir, "actions.json")
    if not os.path.isfile(expected_path):
        print("no actions.json: nothing to compare with")
        return 0
    with open(expected_path) as f:
        written = json.load(f)
    if "deterministic_actions" not in written:
        print("actions.json holds random actions (dump-obs without --policy): nothing to compare with")
        return 0
    expected = torch.tensor(written["deterministic_actions"], dtype=torch.float64)
    if expected.shape != actions.shape:
        print(f"MISMATCH: actions.json has shape {list(expected.shape)}, computed {list(actions.shape)}")
        return 1
    if len(actions) == 0:
        print("OK: no stacks")
        return 0
    diff = (actions.double() - expected).abs()
    worst = float(diff.max())
    step, dim = divmod(int(diff.argmax()), diff.shape[1])
    where = f"step {step}, action {dim}: computed {actions[step, dim].item():+.7f}, dodge {expected[step, dim].item():+.7f}"
    if worst > args.tol:
        print(f"MISMATCH: max |difference| {worst:.3g} > {args.tol:g} at {where}")
        return 1
    print(f"OK: equal to dodge's actions.json within {args.tol:g} (max |difference| {worst:.3g} at {where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
