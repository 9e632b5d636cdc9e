import time

import numpy as np

import convcore
from convcore import functional as F

convcore.set_num_threads(1)
rng = np.random.default_rng(0)
x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
gy = rng.standard_normal(x.shape).astype(np.float32)
g = np.ones(64, np.float32)
b = np.zeros(64, np.float32)


def t(f, n=40):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return np.min(ts) * 1e3


y, m, s = F.batch_norm2d(x, g, b)
for _ in range(2):
    print("fwd %.3f" % t(lambda: F.batch_norm2d(x, g, b)),
          "bwd %.3f" % t(lambda: F.batch_norm2d_backward(gy, x, g, m, s)),
          "bwd relu %.3f" % t(lambda: F.batch_norm2d_backward(gy, x, g, m, s, y=y,
                                                              activation="relu")),
          "copy %.3f" % t(lambda: x.copy()))
