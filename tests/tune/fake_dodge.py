#!/usr/bin/env python3
"""A stand-in for the dodge binary in the tuner's tests: `train` and `eval` as the tuner sees them
(the run folder, evaluations.csv, training_summary.json, the interrupt checkpoint, the eval JSON),
in a second and with the outcome a test asks for, so faults that real trainings cannot be made to
show on cue (a plateau, a sibling that fails, a trainer that overruns its budget) are tested.

The plan is a JSON file named by $FAKE_DODGE_PLAN: {"seeds": {"0": {...}}, "default": {...}} with,
per seed: evals [[step, mean_return], ...], delay (seconds before each evaluation), fail (exit code
after the evaluations), stopped / stop_reason (the summary's), overrun (keep training after the
evaluations until a signal), heldout (the eval's mean_return), success (its success_rate).
Each SIGINT a run receives is appended to RUN/signals.txt; the second aborts with 130, as the
trainer's does.
"""
import json
import os
import signal
import sys
import time

import yaml

CHECK = "/dev/null/dodge-tune-check"


def plan_for(seed):
    with open(os.environ["FAKE_DODGE_PLAN"]) as f:
        plan = json.load(f)
    p = dict(plan.get("default", {}))
    p.update(plan.get("seeds", {}).get(str(seed), {}))
    return p


def dotted_set(d, key, value):
    parts = key.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def train(argv):
    args = {"--set": []}
    i = 0
    while i < len(argv):
        k = argv[i]
        if k == "--set":
            args["--set"].append(argv[i + 1])
        else:
            args[k] = argv[i + 1]
        i += 2
    results = args["--results"]
    if results.startswith(CHECK):
        print(f"dodge: error: cannot write the results folder {results}/x/y (permissions or disk?)")
        return 2
    with open(args["--config"]) as f:
        cfg = yaml.safe_load(f)
    for s in args["--set"]:
        k, _, v = s.partition("=")
        dotted_set(cfg, k, yaml.safe_load(v))
    seed = int(args.get("--seed", cfg["train"].get("seed", 0)))
    cfg["train"]["seed"] = seed
    p = plan_for(seed)
    name = os.path.splitext(os.path.basename(args["--config"]))[0]
    run = os.path.join(results, name, time.strftime("%Y%m%d_%H%M%S") + f"_{os.getpid()}")
    os.makedirs(run)
    with open(os.path.join(run, "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f)
    state = {"sigints": 0, "stop": False}

    def on_int(sig, frame):
        state["sigints"] += 1
        with open(os.path.join(run, "signals.txt"), "a") as f:
            f.write(f"{signal.Signals(sig).name} {time.monotonic():.3f}\n")
        if sig == signal.SIGINT and state["sigints"] >= 2:
            print("dodge: second interrupt, aborting now", flush=True)
            os._exit(130)
        state["stop"] = True

    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGTERM, on_int)
    t0 = time.monotonic()
    step = 0
    with open(os.path.join(run, "evaluations.csv"), "w") as f:
        f.write("timesteps,mean_reward,std_reward,mean_ep_length,std_ep_length,success_rate\n")
    for s, m in p.get("evals", [[200, 1.0], [400, 1.0], [600, 1.0]]):
        deadline = time.monotonic() + float(p.get("delay", 0.05))
        while time.monotonic() < deadline and not state["stop"]:
            time.sleep(0.01)
        if state["stop"]:
            break
        step = s
        if p.get("scale_by"):  # the mean return as the tuned value makes it
            k = p["scale_by"].split(".")
            m = m * float(cfg[k[0]][k[1]])
        with open(os.path.join(run, "evaluations.csv"), "a") as f:
            f.write(f"{s},{m},0.5,100,0,1\n")
        os.makedirs(os.path.join(run, "best"), exist_ok=True)
    if p.get("overrun"):
        while not state["stop"]:
            time.sleep(0.01)
    if p.get("fail") and not state["stop"]:
        print(f"dodge: error: the fake trainer fails as planned (seed {seed})", flush=True)
        return int(p["fail"])
    if state["stop"]:
        time.sleep(float(p.get("checkpoint_seconds", 0.3)))  # writing the interrupt checkpoint
        os.makedirs(os.path.join(run, "checkpoints", f"step_{step}"))
        stopped = "interrupted"
    else:
        os.makedirs(os.path.join(run, "final"))
        with open(os.path.join(run, "final", "config.yaml"), "w") as f:
            yaml.safe_dump(cfg, f)
        stopped = p.get("stopped", "completed")
    summary = {"stopped": stopped, "duration_seconds": round(time.monotonic() - t0, 3),
               "total_timesteps": step, "run_dir": run}
    if p.get("stop_reason") and stopped != "interrupted":
        summary["stop_reason"] = p["stop_reason"]
    with open(os.path.join(run, "training_summary.json"), "w") as f:
        json.dump(summary, f)
    return 0


def evaluate(argv):
    target = argv[0]
    out = argv[argv.index("--json") + 1]
    episodes = int(argv[argv.index("--episodes") + 1])
    with open(os.path.join(target, "config.yaml")) as f:
        seed = int(yaml.safe_load(f)["train"]["seed"])
    p = plan_for(seed)
    with open(out, "w") as f:
        json.dump({"mean_return": float(p.get("heldout", 100.0 + seed)), "std_return": 1.0,
                   "success_rate": float(p.get("success", 1.0)), "seed": seed + 2000003, "step": 600,
                   "min_return": 0.0, "max_return": 1.0, "mean_length": 100.0,
                   "episodes": [{}] * episodes}, f)
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "train":
        sys.exit(train(sys.argv[2:]))
    if cmd == "eval":
        sys.exit(evaluate(sys.argv[2:]))
    print(f"fake dodge: {cmd}: not faked", file=sys.stderr)
    sys.exit(2)
