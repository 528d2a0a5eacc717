#!/usr/bin/python3
"""golden_distill.py - the C float engine against an independent numpy forward pass of Distill's
published TF.js model (models/third_party/distill/model.json), read directly from the JSON.

Checks (each one pass or fail, written as "PASSED FAILED" to --result):
  1. `xnca import-distill` of model.json reproduces the committed models/distill-float.xnca byte
     for byte;
  2. one step at fire rate 1 without noise (mask = alive) on the first N MNIST test digits agrees
     with numpy to 1e-5 (only channel 0 and the bias paths matter: the state starts at zero);
  3. three such steps agree to 1e-5 (now every hidden and class channel's weights matter).
The numpy side follows the TF graph literally: SAME-padded 3x3 cross-correlation with the HWIO
kernel, bias, ReLU, two 1x1 layers, mask = grey > 0.1, state[..., 1:] += ds * mask.
"""
import argparse
import base64
import json
import os
import subprocess
import sys

import numpy as np

TOL = 1e-5


def load_tensors(path):
    with open(path) as f:
        graph = json.load(f)
    nodes = {n["name"]: n for n in graph["modelTopology"]["node"]}

    def tensor(name):
        t = nodes[name]["attr"]["value"]["tensor"]
        shape = [int(d["size"]) for d in t["tensorShape"]["dim"]]
        return np.frombuffer(base64.b64decode(t["tensorContent"]), "<f4").reshape(shape).astype(np.float64)

    k0 = tensor("sequential/conv2d/Conv2D/ReadVariableOp/resource")
    b0 = tensor("sequential/conv2d/BiasAdd/ReadVariableOp/resource")
    k1 = tensor("sequential_1/conv2d_1/Conv2D/ReadVariableOp/resource")
    b1 = tensor("sequential_1/conv2d_1/BiasAdd/ReadVariableOp/resource")
    k2 = tensor("sequential_1/conv2d_2/Conv2D/ReadVariableOp/resource")
    b2 = tensor("sequential_1/conv2d_2/BiasAdd/ReadVariableOp/resource")
    return k0, b0, k1[0, 0], b1, k2[0, 0], b2


def read_idx_images(path, count):
    with open(path, "rb") as f:
        raw = f.read()
    magic, n, h, w = np.frombuffer(raw[:16], ">u4")
    if magic != 0x803 or n < count:
        raise SystemExit(f"golden: {path}: not an IDX3 image file with >= {count} images")
    return np.frombuffer(raw[16:16 + count * h * w], np.uint8).reshape(count, h, w)


def ca_step(x, weights):
    """One Distill step at fire rate 1, no noise. x: [B, H, W, C] float64."""
    k0, b0, w1, b1, w2, b2 = weights
    B, H, W, C = x.shape
    xp = np.zeros((B, H + 2, W + 2, C))
    xp[:, 1:-1, 1:-1, :] = x
    perception = np.zeros((B, H, W, k0.shape[3]))
    for ky in range(3):
        for kx in range(3):
            perception += xp[:, ky:ky + H, kx:kx + W, :] @ k0[ky, kx]
    h = np.maximum(perception + b0, 0.0)
    h = np.maximum(h @ w1 + b1, 0.0)
    ds = h @ w2 + b2
    mask = (x[..., :1] > 0.1).astype(np.float64)
    out = x.copy()
    out[..., 1:] += ds * mask
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xnca", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--model", required=True, help="committed float model to check")
    ap.add_argument("--work", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--count", type=int, default=8)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    passed = failed = 0

    def report(ok, what):
        nonlocal passed, failed
        print(f"golden: {'PASS' if ok else 'FAIL'} {what}")
        if ok:
            passed += 1
        else:
            failed += 1

    # 1. import reproduces the committed model
    fresh = os.path.join(args.work, "distill-float.xnca")
    r = subprocess.run([args.xnca, "import-distill", args.json, "-o", fresh], capture_output=True, text=True)
    same = r.returncode == 0 and open(fresh, "rb").read() == open(args.model, "rb").read()
    report(same, f"import-distill reproduces {args.model}" + ("" if r.returncode == 0 else ": " + r.stderr.strip()))

    # 2, 3. one and three steps against numpy
    weights = load_tensors(args.json)
    data = os.environ.get("XNCA_DATA", "data")
    pixels = read_idx_images(os.path.join(data, "mnist", "t10k-images-idx3-ubyte"), args.count)
    B, H, W = pixels.shape
    C = weights[0].shape[2]
    x = np.zeros((B, H, W, C))
    x[..., 0] = pixels / 255.0
    expect = {}
    for s in range(1, 4):
        x = ca_step(x, weights)
        expect[s] = x.copy()
    for steps in (1, 3):
        out = os.path.join(args.work, f"state-{steps}.f32")
        r = subprocess.run([args.xnca, "dump-state", "--model", args.model, "--data", "mnist", "--split", "test",
                            "--index", "0", "--count", str(B), "--steps", str(steps), "--fire-t", "256",
                            "--sigma", "0", "-o", out], capture_output=True, text=True)
        if r.returncode != 0:
            report(False, f"{steps} step(s): dump-state failed: {r.stderr.strip()}")
            continue
        got = np.fromfile(out, "<f4").astype(np.float64)
        if got.size != B * H * W * C:
            report(False, f"{steps} step(s): dump has {got.size} values, expected {B * H * W * C}")
            continue
        got = got.reshape(B, H, W, C)
        err = np.abs(got - expect[steps])
        worst = np.unravel_index(np.argmax(err), err.shape)
        changed = np.count_nonzero(expect[steps][..., 1:])
        ok = err.max() <= TOL and changed > 0
        report(ok, f"{steps} step(s), fire rate 1, no noise, {B} digits: max |C - numpy| = {err.max():.3g} "
                   f"(tolerance {TOL:g}; worst at image {worst[0]} y {worst[1]} x {worst[2]} channel {worst[3]}; "
                   f"{changed} nonzero mutable values)")

    with open(args.result, "w") as f:
        f.write(f"{passed} {failed}\n")
    print(f"golden: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
