#!/usr/bin/python3
"""bench_torch.py - Distill's float NCA in PyTorch on the CPU: the `torch-float-all` peer of
`make bench` (docs/benchmarks.md).

usage: bench_torch.py [--model models/distill-float.xnca] [--data data] [--n 200] [--steps 20]
                      [--batch 100] [--threads 0] [--impl best|conv|gemm|gemm-sparse]
                      [--draws torch|spec] [--json OUT]

The step (spec 8): perception = 3x3 convolution over the C = 20 channels (zero padding) + bias,
ReLU; one hidden 1x1 layer + bias, ReLU; output 1x1 layer to C - 1 + bias; a cell that is alive
(pixel >= 26) and fires (rate fire_t / 256) adds the residual plus sigma * N(0, 1) noise to its
mutable channels. Weights are read from the .xnca float payload (spec 10) directly. The first N
MNIST test digits run in batches under torch.inference_mode on all cores (torch.set_num_threads).

Implementations (--impl; `best` runs all three and reports the fastest):
  conv         Distill's own formulation: conv2d 3x3 + two 1x1 conv2d over the whole grid (oneDNN).
  gemm         the same over the whole grid as im2col + torch.addmm (BLAS sgemm).
  gemm-sparse  im2col, then addmm on the alive firing cells only (what the C float engine does).
Draws (--draws): `torch` uses torch.rand / torch.randn (timed, the natural PyTorch program);
`spec` takes the fire mask from the spec 4.2 hash (xnca-arx32, seed 0, image index = digit
index), precomputed outside the timed loop, so that the metrics can be compared closely with
`xnca eval` (the noise stays torch.randn; sigma is 0.02).

Prints one JSON object: images/s of each implementation, the metrics at the last step (spec 5),
torch's version, threads and the BLAS library that torch loaded.
"""
import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np

HEADER = 48
ALIVE_PIXEL = 26


def fail(msg):
    print(f"bench_torch: {msg}", file=sys.stderr)
    sys.exit(1)


def load_float_model(path):
    """Parse a float-variant .xnca file (spec 10): dimensions, layers [(W[n_out][n_in], b)], noise."""
    try:
        buf = open(path, "rb").read()
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    if len(buf) < HEADER + 4 or buf[:4] != b"XNCA":
        fail(f"{path}: not an .xnca file (short file or bad magic)")
    (version, variant, _r, gw, gh, C, Hc, classes, L, P, M, wb, ab, sb, ib, fire_t, noise_p, _r2, sigma,
     payload_bytes, meta_bytes) = struct.unpack_from("<HBBHHBBBBHHBBBBHBBfII", buf, 4)
    if version != 1:
        fail(f"{path}: format version {version}, expected 1")
    if variant != 0:
        fail(f"{path}: variant {variant}; bench_torch runs the float variant (0) only")
    if len(buf) != HEADER + payload_bytes + meta_bytes + 4:
        fail(f"{path}: file length disagrees with the header")
    if zlib.crc32(buf[:-4]) != struct.unpack_from("<I", buf, len(buf) - 4)[0]:
        fail(f"{path}: CRC mismatch")
    dims = [(9 * C, P)] + [(P if l == 0 else M, M) for l in range(L)] + [(M if L else P, C - 1)]
    floats = np.frombuffer(buf, dtype="<f4", count=payload_bytes // 4, offset=HEADER)
    layers, off = [], 0
    for n_in, n_out in dims:
        w = floats[off:off + n_in * n_out].reshape(n_out, n_in)
        off += n_in * n_out
        b = floats[off:off + n_out]
        off += n_out
        layers.append((w.copy(), b.copy()))
    if off * 4 != payload_bytes:
        fail(f"{path}: payload length {payload_bytes} disagrees with the dimensions ({off * 4})")
    return {"C": C, "fire_t": fire_t, "sigma": sigma, "layers": layers, "grid": (gw, gh)}


def load_mnist_test(data_dir, n):
    base = os.path.join(data_dir, "mnist")
    try:
        img = open(os.path.join(base, "t10k-images-idx3-ubyte"), "rb").read()
        lab = open(os.path.join(base, "t10k-labels-idx1-ubyte"), "rb").read()
    except OSError as e:
        fail(f"{e.filename}: {e.strerror} (run make data)")
    magic, count, h, w = struct.unpack_from(">IIII", img, 0)
    if magic != 0x803 or struct.unpack_from(">I", lab, 0)[0] != 0x801 or len(img) != 16 + count * h * w:
        fail("bad MNIST IDX files")
    if n < 1 or n > count:
        fail(f"--n must be 1 .. {count}")
    pixels = np.frombuffer(img, np.uint8, n * h * w, 16).reshape(n, h, w)
    labels = np.frombuffer(lab, np.uint8, n, 8)
    return pixels, labels


def xnca_hash(seed, image_index, step, x, y, lane):
    """Spec 4.1 (xnca-arx32) on numpy uint32 arrays (broadcast)."""
    u = np.uint32
    a = (np.asarray(seed, u) ^ u(0x61707865)).astype(u)
    b = (np.asarray(image_index, u) ^ u(0x3320646E)).astype(u)
    c = ((((np.asarray(step, u) & u(0xFFFF)) << u(16)) | (np.asarray(lane, u) & u(0xFFFF))) ^ u(0x79622D32)).astype(u)
    d = ((((np.asarray(y, u) & u(0xFF)) << u(8)) | (np.asarray(x, u) & u(0xFF))) ^ u(0x6B206574)).astype(u)
    a, b, c, d = np.broadcast_arrays(a, b, c, d)
    a, b, c, d = a.copy(), b.copy(), c.copy(), d.copy()

    def rotl(v, r):
        return (v << u(r)) | (v >> u(32 - r))

    with np.errstate(over="ignore"):
        for _ in range(4):
            a += b; d ^= a; d = rotl(d, 16)
            c += d; b ^= c; b = rotl(b, 12)
            a += b; d ^= a; d = rotl(d, 8)
            c += d; b ^= c; b = rotl(b, 7)
    return a ^ b ^ c ^ d


def spec_fire_masks(first, n, steps, h, w, fire_t):
    """fire[i, t, y, x] per spec 4.2 (seed 0), as uint8."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.uint32), np.arange(w, dtype=np.uint32), indexing="ij")
    out = np.empty((n, steps, h, w), np.uint8)
    for i in range(n):
        for t in range(steps):
            out[i, t] = (xnca_hash(0, first + i, t, xs, ys, 0) & 0xFF) < fire_t
    return out


class TorchNCA:
    def __init__(self, torch, model, impl):
        self.t = torch
        self.impl = impl
        self.C = model["C"]
        self.sigma = float(model["sigma"])
        self.fire_p = model["fire_t"] / 256.0
        (w0, b0), (w1, b1), (w2, b2) = model["layers"]  # Distill: one hidden layer
        T = torch.from_numpy
        C = self.C
        self.W = [T(w0), T(w1), T(w2)]
        self.B = [T(b0), T(b1), T(b2)]
        # conv weights: W0[p][pos * C + c], pos = ky * 3 + kx  ->  [P][C][3][3]
        self.K0 = T(w0.reshape(-1, 3, 3, C).transpose(0, 3, 1, 2).copy())
        self.K1 = T(w1)[:, :, None, None].contiguous()
        self.K2 = T(w2)[:, :, None, None].contiguous()

    def run(self, pixels, steps, fire=None):
        """pixels uint8 [B, H, W] -> state after `steps` steps; fire: optional uint8 [B, steps, H, W]."""
        t = self.t
        F = t.nn.functional
        B, H, W = pixels.shape
        C = self.C
        px = t.from_numpy(pixels.astype(np.float32)) / 255.0
        alive = t.from_numpy(pixels >= ALIVE_PIXEL)
        if self.impl == "conv":
            s = t.zeros(B, C, H, W)
            s[:, 0] = px
            for step in range(steps):
                h = F.relu(F.conv2d(s, self.K0, self.B[0], padding=1))
                h = F.relu(F.conv2d(h, self.K1, self.B[1]))
                ds = F.conv2d(h, self.K2, self.B[2])
                if self.sigma:
                    ds = ds + self.sigma * t.randn_like(ds)
                f = (t.rand(B, H, W) < self.fire_p) if fire is None else t.from_numpy(fire[:, step].astype(bool))
                mask = (f & alive).unsqueeze(1).to(ds.dtype)
                s[:, 1:] += ds * mask
            return s.permute(0, 2, 3, 1)
        s = t.zeros(B, H, W, C)
        s[..., 0] = px
        for step in range(steps):
            p = F.pad(s, (0, 0, 1, 1, 1, 1))  # [B, H+2, W+2, C]
            # im2col in the order n = pos * C + c, pos = (dy + 1) * 3 + (dx + 1)
            x = t.cat([p[:, dy:dy + H, dx:dx + W, :] for dy in range(3) for dx in range(3)], dim=3)
            x = x.reshape(B * H * W, 9 * C)
            f = (t.rand(B, H, W) < self.fire_p) if fire is None else t.from_numpy(fire[:, step].astype(bool))
            upd = (f & alive).reshape(-1)
            if self.impl == "gemm-sparse":
                idx = upd.nonzero().squeeze(1)
                x = x.index_select(0, idx)
            h = t.relu(t.addmm(self.B[0], x, self.W[0].t()))
            h = t.relu(t.addmm(self.B[1], h, self.W[1].t()))
            ds = t.addmm(self.B[2], h, self.W[2].t())
            if self.sigma:
                ds = ds + self.sigma * t.randn_like(ds)
            flat = s.view(B * H * W, C)
            if self.impl == "gemm-sparse":
                flat[idx, 1:] += ds
            else:
                flat[:, 1:] += ds * upd.unsqueeze(1).to(ds.dtype)
        return s


def metrics(state, pixels, labels):
    """Spec 5 at the final state: cell accuracy (pooled), image accuracy (votes), agreement, percent."""
    cls = state[..., -10:].argmax(axis=-1)  # first maximum = lowest class on ties
    alive = pixels >= ALIVE_PIXEL
    correct = cells = images_ok = agree = 0
    for i in range(len(labels)):
        c = cls[i][alive[i]]
        votes = np.bincount(c, minlength=10)
        pred = int(np.argmax(votes)) if c.size else 0
        correct += int(votes[labels[i]])
        cells += c.size
        images_ok += pred == labels[i]
        agree += c.size > 0 and votes.max() == c.size
    n = len(labels)
    return {"cell_accuracy": 100.0 * correct / max(cells, 1), "image_accuracy": 100.0 * images_ok / n,
            "agreement": 100.0 * agree / n}


def blas_library():
    """The BLAS shared object torch has mapped (after a matmul), resolved through symlinks."""
    libs = set()
    try:
        for line in open("/proc/self/maps"):
            path = line.split()[-1] if "/" in line else ""
            base = os.path.basename(path)
            if base.startswith(("libblas", "libopenblas", "libmkl", "libblis", "libatlas")):
                libs.add(os.path.realpath(path))
    except OSError:
        pass
    return ", ".join(sorted(libs)) or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/distill-float.xnca")
    ap.add_argument("--data", default=os.environ.get("XNCA_DATA", "data"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    ap.add_argument("--impl", default="best", choices=["best", "conv", "gemm", "gemm-sparse"])
    ap.add_argument("--draws", default="torch", choices=["torch", "spec"])
    ap.add_argument("--json", help="also write the JSON object to this file")
    a = ap.parse_args()
    if a.steps < 1 or a.batch < 1:
        fail("--steps and --batch must be >= 1")
    model = load_float_model(a.model)
    if len(model["layers"]) != 3:
        fail("bench_torch implements Distill's architecture: exactly one hidden layer")
    pixels, labels = load_mnist_test(a.data, a.n)
    try:
        import torch
    except ImportError:
        fail("python3-torch is not installed (make deps)")
    threads = a.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fire = spec_fire_masks(0, a.n, a.steps, *pixels.shape[1:], model["fire_t"]) if a.draws == "spec" else None
    impls = ["conv", "gemm", "gemm-sparse"] if a.impl == "best" else [a.impl]
    results = []
    with torch.inference_mode():
        for impl in impls:
            nca = TorchNCA(torch, model, impl)
            nca.run(pixels[:min(8, a.n)], 2)  # warm-up (allocators, oneDNN primitives)
            states = []
            t0 = time.perf_counter()
            for i in range(0, a.n, a.batch):
                j = min(a.n, i + a.batch)
                states.append(nca.run(pixels[i:j], a.steps, None if fire is None else fire[i:j]).numpy())
            dt = time.perf_counter() - t0
            r = {"impl": impl, "images_per_s": a.n / dt, "seconds": dt}
            r.update(metrics(np.concatenate(states), pixels, labels))
            results.append(r)
            print(f"bench_torch: {impl}: {r['images_per_s']:.1f} images/s, cell acc {r['cell_accuracy']:.2f} %, "
                  f"image acc {r['image_accuracy']:.2f} %", file=sys.stderr)
    best = max(results, key=lambda r: r["images_per_s"])
    out = {"name": "torch-float-all", "model": os.path.basename(a.model), "steps": a.steps, "images": a.n,
           "batch": a.batch, "threads": threads, "draws": a.draws, "impl": best["impl"],
           "images_per_s": best["images_per_s"], "cell_accuracy": best["cell_accuracy"],
           "image_accuracy": best["image_accuracy"], "agreement": best["agreement"],
           "torch": torch.__version__, "blas": blas_library(),
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""), "results": results}
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
