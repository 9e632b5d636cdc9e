"""Winograd vs direct vs torch on the 3x3 stride-1 bench shapes (interleaved medians, 2 threads)."""
import sys
import time

import numpy as np
import torch

import convcore as cc
from convcore import _kernels

torch.set_num_threads(2)
SHAPES = {  # n, c, k, hw
    "resnet20-a": (32, 16, 16, 32), "resnet20-b": (32, 32, 32, 16), "resnet20-c": (32, 64, 64, 8),
    "vgg-56": (8, 64, 64, 56), "vgg-28": (8, 128, 128, 28), "vgg-14": (8, 256, 256, 14),
}
names = sys.argv[1:] or list(SHAPES)
rng = np.random.default_rng(0)
for name in names:
    n, c, k, hw = SHAPES[name]
    x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
    w = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
    b = rng.standard_normal(k, dtype=np.float32)
    tx, tw, tb = map(torch.from_numpy, (x, w, b))

    def run(mode):
        _kernels.set_conv_winograd(mode)
        return cc.F.conv2d(x, w, b, 1, 1)

    cases = {"direct": lambda: run("never"), "winograd": lambda: run("always"),
             "torch": lambda: torch.nn.functional.conv2d(tx, tw, tb, 1, 1)}
    times = {key: [] for key in cases}
    for rnd in range(13):
        for key, fn in cases.items():
            t = time.perf_counter()
            fn()
            if rnd >= 3:
                times[key].append(time.perf_counter() - t)
    flops = 2 * n * k * c * 9 * hw * hw
    med = {key: np.median(v) for key, v in times.items()}
    print(f"{name:11s} " + " ".join(f"{key} {1e3*v:7.2f} ms ({flops/v/1e9:6.1f} GF/s)" for key, v in med.items())
          + f"  torch/wino {med['torch']/med['winograd']:.2f} torch/direct {med['torch']/med['direct']:.2f}")
_kernels.set_conv_winograd("auto")
