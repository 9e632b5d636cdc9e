import time

import numpy as np
import torch

import convcore
from convcore import functional as F

x = np.random.default_rng(0).standard_normal((32, 64, 32, 32)).astype(np.float32)
gy = np.random.default_rng(1).standard_normal((32, 64, 16, 16)).astype(np.float32)


def t(f, n=15):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return np.median(ts) * 1e3


def fb():
    y, am = F.max_pool2d_with_argmax(x, 2)
    return F.max_pool2d_backward_argmax(gy, am, x.shape, 2)


for nt in (1, 2):
    convcore.set_num_threads(nt)
    torch.set_num_threads(nt)
    print(nt, "fwd %.3f" % t(lambda: F.max_pool2d(x, 2)),
          "fwd+am %.3f" % t(lambda: F.max_pool2d_with_argmax(x, 2)),
          "fwd+bwd %.3f" % t(fb),
          "torch fwd %.3f" % t(lambda: torch.nn.functional.max_pool2d(torch.from_numpy(x), 2)))
