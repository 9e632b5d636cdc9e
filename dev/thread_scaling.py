"""convcore 1 vs 2 threads, interleaved (dev tool): median of adjacent-pair time ratios."""
import statistics
import sys
import time

import numpy as np

import convcore
from convcore import functional as F

SHAPES = {"vgg-28": (8, 128, 128, 28, 3, 1, 1), "resnet20-c": (32, 64, 64, 8, 3, 1, 1),
          "r50-1x1": (8, 256, 64, 56, 1, 1, 0), "lenet-c1": (64, 1, 32, 28, 5, 1, 2)}
names = sys.argv[1].split(",") if len(sys.argv) > 1 else list(SHAPES)
rng = np.random.default_rng(0)
for name in names:
    n, c, k, h, ks, st, pad = SHAPES[name]
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    w = rng.standard_normal((k, c, ks, ks)).astype(np.float32)
    y = F.conv2d(x, w, stride=st, padding=pad)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    for mode in ("fwd", "fwdbwd"):
        def run():
            F.conv2d(x, w, stride=st, padding=pad)
            if mode == "fwdbwd":
                F.conv2d_backward(gy, x, w, stride=st, padding=pad)
        ratios, times = [], {1: [], 2: []}
        for _ in range(9):
            for t in (1, 2):
                convcore.set_num_threads(t)
                run()
                t0 = time.perf_counter()
                for _ in range(3):
                    run()
                times[t].append((time.perf_counter() - t0) / 3)
            ratios.append(times[1][-1] / times[2][-1])
        print(f"{name:11s} {mode:7s} 1 thread {statistics.median(times[1]) * 1e3:7.2f} ms  "
              f"2 threads {statistics.median(times[2]) * 1e3:7.2f} ms  speed-up "
              f"{statistics.median(ratios):.2f}")
convcore.set_num_threads(None)
