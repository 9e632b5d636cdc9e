"""Interleaved A/B benchmark of convcore's conv2d against torch (dev tool, not shipped).

python dev/bench_conv.py [--threads 2] [--shapes lenet-c1,vgg-28] [--reps 7] [--mode fwd,fwdbwd]
Per shape: warm-up, then `reps` rounds of (torch, convcore) alternating; medians; GF/s with
2*N*K*P*Q*C*R*S/groups flops forward (x3 forward+backward); ratio = median over the rounds of
torch time / ours (each round's two timings are adjacent, so they share the machine's load).
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch

import convcore
from convcore import functional as F

SHAPES = {  # N, Cin, Cout, H(=W), k, stride, pad
    "lenet-c1": (64, 1, 32, 28, 5, 1, 2),
    "resnet20-a": (32, 16, 16, 32, 3, 1, 1),
    "resnet20-b": (32, 32, 32, 16, 3, 1, 1),
    "resnet20-c": (32, 64, 64, 8, 3, 1, 1),
    "vgg-56": (8, 64, 64, 56, 3, 1, 1),
    "vgg-28": (8, 128, 128, 28, 3, 1, 1),
    "vgg-14": (8, 256, 256, 14, 3, 1, 1),
    "r50-1x1": (8, 256, 64, 56, 1, 1, 0),
    "s2-3x3": (8, 64, 128, 56, 3, 2, 1),
}


def timed(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--mode", default="fwd,fwdbwd")
    ap.add_argument("--peak", type=float, default=124.0, help="GF/s of one core")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--json", help="append one JSON record per (shape, mode) to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    convcore.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    peak = args.peak * args.threads * (0.5 if dtype == np.float64 else 1)
    rng = np.random.default_rng(0)
    geo = {"fwd": [], "fwdbwd": []}
    print(f"threads={args.threads} dtype={dtype} peak={peak:.0f} GF/s  "
          f"kernel={convcore._kernels.conv2d_kernel_name(dtype == np.float64)}")
    print(f"{'shape':11s} {'mode':7s} {'ours ms':>8s} {'torch ms':>8s} {'GF/s':>6s} "
          f"{'%peak':>6s} {'torchGF':>7s} {'ratio':>6s}")
    for name in args.shapes.split(","):
        n, c, k, h, ks, st, pad = SHAPES[name]
        x = rng.standard_normal((n, c, h, h)).astype(dtype)
        w = (rng.standard_normal((k, c, ks, ks)) / np.sqrt(c * ks * ks)).astype(dtype)
        b = rng.standard_normal(k).astype(dtype)
        y = F.conv2d(x, w, b, stride=st, padding=pad)
        gy = rng.standard_normal(y.shape).astype(dtype)
        p = y.shape[2]
        flops = 2.0 * n * k * p * p * c * ks * ks
        tx, tw, tb, tgy = (torch.from_numpy(a) for a in (x, w, b, gy))
        txg, twg, tbg = (t.clone().requires_grad_() for t in (tx, tw, tb))
        np.testing.assert_allclose(y, torch.nn.functional.conv2d(tx, tw, tb, st, pad).numpy(),
                                   rtol=1e-3, atol=1e-3)

        def ours_fwd():
            F.conv2d(x, w, b, stride=st, padding=pad)

        def torch_fwd():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, st, pad)

        def ours_fb():
            F.conv2d(x, w, b, stride=st, padding=pad)
            F.conv2d_backward(gy, x, w, stride=st, padding=pad)

        def torch_fb():
            txg.grad = twg.grad = tbg.grad = None
            torch.nn.functional.conv2d(txg, twg, tbg, st, pad).backward(tgy)

        for mode in args.mode.split(","):
            ours, theirs = (ours_fwd, torch_fwd) if mode == "fwd" else (ours_fb, torch_fb)
            mult = 1 if mode == "fwd" else 3
            inner = max(1, int(0.05 / max(1e-5, timed(ours, 1))))
            timed(ours, inner)
            timed(theirs, inner)
            t_ours, t_torch, ratios = [], [], []
            for _ in range(args.reps):  # adjacent pairs see about the same machine load
                t_torch.append(timed(theirs, inner))
                t_ours.append(timed(ours, inner))
                ratios.append(t_torch[-1] / t_ours[-1])
            mo, mt = statistics.median(t_ours), statistics.median(t_torch)
            gf = mult * flops / mo / 1e9
            ratio = statistics.median(ratios)
            geo[mode].append(ratio)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(dict(shape=name, mode=mode, threads=args.threads,
                                            ours_ms=mo * 1e3, torch_ms=mt * 1e3, gflops=gf,
                                            ratio=ratio, peak=peak)) + "\n")
            print(f"{name:11s} {mode:7s} {mo * 1e3:8.2f} {mt * 1e3:8.2f} {gf:6.1f} "
                  f"{100 * gf / peak:5.1f}% {mult * flops / mt / 1e9:7.1f} {ratio:6.2f}",
                  flush=True)
    for mode, ratios in geo.items():
        if ratios:
            print(f"geomean ratio {mode}: {np.exp(np.mean(np.log(ratios))):.2f}")


if __name__ == "__main__":
    main()
