#!/usr/bin/env python3
"""Checks a file of `dodge export --onnx` against dodge's own actions.

usage: check_onnx.py MODEL.onnx OBS_DIR [--tol 1e-5] [--min-obs 1000]

OBS_DIR is written by `dodge dump-obs --policy CKPT --no-png`: stacks.bin + stacks.json (the
observations as the game produced them) and actions.json (dodge's deterministic actions for them).
Checks: onnx.checker (full check, with shape inference) accepts the model; opset >= 17; its input and
output are what the metadata and stacks.json say (dynamic batch); ONNX Runtime's actions for every
stack equal dodge's within --tol, also when fed one at a time. Prints the max |difference|.
Exit 0 when all hold, 1 otherwise.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort


def fail(message):
    print(f"check_onnx: FAIL: {message}")
    sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("obs_dir")
    p.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--min-obs", type=int, default=1000)
    a = p.parse_args()

    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    opset = {o.domain: o.version for o in model.opset_import}.get("", 0)
    if opset < 17:
        fail(f"opset {opset} < 17")
    meta = {m.key: m.value for m in model.metadata_props}
    for key in ("dodge.version", "input.name", "input.dtype", "input.shape", "output.name", "output.shape",
                "env.image_width", "env.image_height", "env.image_grayscale", "env.frame_stack", "env.frame_skip",
                "env.level", "env.spawn_angle_degrees", "env.observation_mode"):
        if key not in meta:
            fail(f"metadata has no {key}")

    with open(os.path.join(a.obs_dir, "stacks.json")) as f:
        stacks_meta = json.load(f)
    dtype = {"uint8": np.uint8, "float32": np.dtype("<f4")}[stacks_meta["dtype"]]
    obs = np.fromfile(os.path.join(a.obs_dir, "stacks.bin"), dtype=dtype).reshape(stacks_meta["shape"])
    obs = obs.astype(obs.dtype.newbyteorder("="), copy=False)
    with open(os.path.join(a.obs_dir, "actions.json")) as f:
        expected = np.array(json.load(f)["deterministic_actions"], dtype=np.float64)
    n = len(obs)
    if n < a.min_obs or expected.shape[0] != n:
        fail(f"{n} observations and {expected.shape[0]} actions; need at least {a.min_obs} of each")

    # The graph's interface, as the metadata and the game's observations say.
    inp, out = model.graph.input[0], model.graph.output[0]
    elem = {onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.FLOAT: "float32"}[inp.type.tensor_type.elem_type]
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    if (inp.name, elem) != (meta["input.name"], meta["input.dtype"]) or elem != stacks_meta["dtype"]:
        fail(f"input {inp.name} {elem}; metadata {meta['input.name']} {meta['input.dtype']}; stacks {stacks_meta['dtype']}")
    if not isinstance(dims[0], str) or dims[1:] != list(obs.shape[1:]):
        fail(f"input shape {dims}, stacks {list(obs.shape)} (the batch must be symbolic)")
    if meta["input.shape"] != "[" + ", ".join(["batch"] + [str(d) for d in obs.shape[1:]]) + "]":
        fail(f"metadata input.shape {meta['input.shape']} does not match the stacks {list(obs.shape)}")
    if out.name != meta["output.name"]:
        fail(f"output {out.name}, metadata {meta['output.name']}")

    session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    ours = np.concatenate([session.run([out.name], {inp.name: obs[i : i + 256]})[0] for i in range(0, n, 256)])
    single = np.concatenate([session.run([out.name], {inp.name: obs[i : i + 1]})[0] for i in range(0, min(n, 64))])
    if ours.shape != expected.shape or ours.dtype != np.float32:
        fail(f"ONNX Runtime gave {ours.dtype} {ours.shape}, dodge {expected.shape}")
    if np.abs(ours).max() > 1.0:
        fail("an action outside [-1, 1]")
    diff = np.abs(ours.astype(np.float64) - expected)
    worst = float(diff.max())
    single_worst = float(np.abs(single.astype(np.float64) - expected[: len(single)]).max())
    step, dim = np.unravel_index(int(diff.argmax()), diff.shape)
    print(f"{os.path.basename(a.model)}: opset {opset}, input {inp.name} {elem} {dims}, {n} observations, "
          f"policy {meta.get('dodge.policy')}; max |ONNX Runtime - dodge| = {worst:.3g} "
          f"(step {step}, action {dim}; batch of 1: {single_worst:.3g}); onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__}")
    if not worst <= a.tol or not single_worst <= a.tol:
        fail(f"max |difference| {max(worst, single_worst):.3g} > {a.tol:g}")
    # The comparison can fail: the same graph with any one weight tensor negated (a layer that does
    # not compute what dodge's does) must miss dodge's actions by more than 10x the
    # tolerance on these observations. (A barely trained pixel policy varies little over its
    # observations; this shows every layer still matters at this tolerance.)
    misses = []
    for name in [t.name for t in model.graph.initializer if t.name.endswith(("weight", "weight_over_255"))]:
        mutated = onnx.ModelProto()
        mutated.CopyFrom(model)
        init = next(t for t in mutated.graph.initializer if t.name == name)
        w = onnx.numpy_helper.to_array(init)
        init.CopyFrom(onnx.numpy_helper.from_array(-w, name))
        wrong = ort.InferenceSession(mutated.SerializeToString(), providers=["CPUExecutionProvider"])
        off = np.concatenate([wrong.run([out.name], {inp.name: obs[i : i + 256]})[0] for i in range(0, n, 256)])
        misses.append((float(np.abs(off.astype(np.float64) - expected).max()), name))
    least, name = min(misses)
    print(f"{len(misses)} weight tensors, each negated in turn: max |difference| at least {least:.3g} ({name}); "
          f"dodge's actions vary by up to {float(np.ptp(expected, axis=0).max()):.3g} over the observations")
    if not least > 10 * a.tol:
        fail(f"negating {name} changes the actions by only {least:.3g}: the comparison would prove little")
    print("OK")


if __name__ == "__main__":
    main()
