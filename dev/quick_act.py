import time

import numpy as np

import convcore
from convcore import _kernels
from convcore import functional as F

convcore.set_num_threads(1)
x = np.random.default_rng(0).standard_normal((32, 64, 32, 32)).astype(np.float32)
out = np.empty_like(x)
e = np.empty(0, np.float32)


def t(f, n=15):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return np.median(ts) * 1e3


ops = _kernels.POINTWISE_OPS
for name in ("relu", "sigmoid", "tanh", "elu"):
    print(name, "F %.3f" % t(lambda: getattr(F, name)(x)),
          "kernel prealloc %.3f" % t(lambda: _kernels.pointwise(ops[name], out.reshape(-1),
                                                                 x.reshape(-1), e, 1.0)))
xs = x[:, :, :4]
print("small tanh kernel per element ns %.3f" % (t(lambda: F.tanh(xs)) * 1e6 / xs.size))
