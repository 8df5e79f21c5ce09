#!/usr/bin/env python3
"""A plain PyTorch eager SAC update written the Stable-Baselines3 way, for comparison with
`dodge bench update`: separate NatureCNN encoders for actor and critic (the critic's target has
its own copy), twin Q, Polyak target, learned entropy coefficient, torch.optim.Adam, and
.item() calls for logging as SB3's train() does. Prints updates/s after warm-up.

usage: sb3_style_update.py [--batch 128] [--res 84] [--stack 4] [--device cpu|cuda] [--steps 20]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class NatureCNN(nn.Module):
    def __init__(self, c, h, w, features=512):
        super().__init__()
        self.cnn = nn.Sequential(
            nn.Conv2d(c, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            n = self.cnn(torch.zeros(1, c, h, w)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n, features), nn.ReLU())

    def forward(self, x):
        return self.linear(self.cnn(x.float() / 255.0))


def mlp(i, o, hidden=(256, 256)):
    layers, d = [], i
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, o))
    return nn.Sequential(*layers)


class Actor(nn.Module):
    def __init__(self, c, h, w, a):
        super().__init__()
        self.features = NatureCNN(c, h, w)
        self.latent = mlp(512, 256, (256,))
        self.mu = nn.Linear(256, a)
        self.log_std = nn.Linear(256, a)

    def action_log_prob(self, obs):
        z = F.relu(self.latent(self.features(obs)))
        mu, log_std = self.mu(z), self.log_std(z).clamp(-20, 2)
        dist = torch.distributions.Normal(mu, log_std.exp())
        u = dist.rsample()
        a = torch.tanh(u)
        logp = dist.log_prob(u).sum(1) - torch.log(1 - a.pow(2) + 1e-6).sum(1)
        return a, logp


class Critic(nn.Module):
    def __init__(self, c, h, w, a):
        super().__init__()
        self.features = NatureCNN(c, h, w)
        self.q = nn.ModuleList([mlp(512 + a, 1), mlp(512 + a, 1)])

    def forward(self, obs, act):
        x = torch.cat([self.features(obs), act], 1)
        return [q(x) for q in self.q]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--res", type=int, default=84)
    p.add_argument("--stack", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: all cores)")
    p.add_argument("--json", default="")
    args = p.parse_args()
    import os
    torch.set_num_threads(args.threads or os.cpu_count())
    dev = torch.device(args.device)
    c, h, w, a_dim, b = args.stack, args.res, args.res, 3, args.batch
    actor, critic, critic_target = Actor(c, h, w, a_dim).to(dev), Critic(c, h, w, a_dim).to(dev), Critic(c, h, w, a_dim).to(dev)
    critic_target.load_state_dict(critic.state_dict())
    log_ent = torch.zeros(1, device=dev, requires_grad=True)
    a_opt = torch.optim.Adam(actor.parameters(), 3e-4)
    c_opt = torch.optim.Adam(critic.parameters(), 3e-4)
    e_opt = torch.optim.Adam([log_ent], 3e-4)
    obs = torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, device=dev)
    nxt = torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, device=dev)
    act = torch.rand(b, a_dim, device=dev) * 2 - 1
    rew = torch.randn(b, 1, device=dev)
    done = torch.zeros(b, 1, device=dev)

    def update():
        pi, logp = actor.action_log_prob(obs)
        logp = logp.reshape(-1, 1)
        ent_loss = -(log_ent * (logp + (-a_dim)).detach()).mean()
        ent = torch.exp(log_ent.detach())
        e_opt.zero_grad(); ent_loss.backward(); e_opt.step()
        with torch.no_grad():
            na, nlogp = actor.action_log_prob(nxt)
            tq = torch.min(torch.cat(critic_target(nxt, na), 1), 1, keepdim=True)[0] - ent * nlogp.reshape(-1, 1)
            y = rew + (1 - done) * 0.99 * tq
        qs = critic(obs, act)
        c_loss = 0.5 * sum(F.mse_loss(q, y) for q in qs)
        c_opt.zero_grad(); c_loss.backward(); c_opt.step()
        qpi = torch.min(torch.cat(critic(obs, pi), 1), 1, keepdim=True)[0]
        a_loss = (ent * logp - qpi).mean()
        a_opt.zero_grad(); a_loss.backward(); a_opt.step()
        with torch.no_grad():
            for p_, tp in zip(critic.parameters(), critic_target.parameters()):
                tp.data.mul_(0.995).add_(p_.data, alpha=0.005)
        return c_loss.item(), a_loss.item(), ent.item(), ent_loss.item()  # SB3 logs these

    for _ in range(args.warmup):
        update()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        update()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    rate = args.steps / (time.perf_counter() - t0)
    print(f"sb3-style eager update: torch {torch.__version__}, {args.device}, batch {b}, {h}x{w}x{c}: "
          f"{rate:.2f} updates/s (threads {torch.get_num_threads()})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "device": args.device, "batch": b, "threads": torch.get_num_threads(),
                       "updates_per_s": rate}, f)


if __name__ == "__main__":
    main()
