import time

import numpy as np

import convcore
from convcore import _kernels
from convcore import functional as F

convcore.set_num_threads(1)
gy = np.random.default_rng(0).standard_normal((32, 64, 16, 16)).astype(np.float32)
x = np.random.default_rng(0).standard_normal((32, 64, 32, 32)).astype(np.float32)
gx = np.empty((32, 64, 32, 32), np.float32)


def t(f, n=21):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return np.median(ts) * 1e3


for _ in range(2):
    print("avg bwd F %.3f" % t(lambda: F.avg_pool2d_backward(gy, x.shape, 2)),
          "kernel prealloc %.3f" % t(lambda: _kernels.avg_pool2d_backward(gx, gy, True, (2, 2),
                                                                          (2, 2), (0, 0))),
          "max bwd F %.3f" % t(lambda: F.max_pool2d_backward(gy, x, 2)),
          "np.empty+fill %.3f" % t(lambda: np.empty_like(x).fill(1)),
          "copy %.3f" % t(lambda: x.copy()))
y, am = F.max_pool2d_with_argmax(x, 2)
print("with_argmax %.3f" % t(lambda: F.max_pool2d_with_argmax(x, 2)),
      "bwd_argmax %.3f" % t(lambda: F.max_pool2d_backward_argmax(gy, am, x.shape, 2)),
      "bwd kernel prealloc %.3f" % t(lambda: _kernels.max_pool2d_backward(
          gx, gy, am.reshape(-1).view(np.uint8), 1, (2, 2), (2, 2), (0, 0))))
from convcore import _checks  # noqa: E402
from convcore.functional import pool as P  # noqa: E402

args = _checks.check_pool2d("max_pool2d", x.shape, 2, None, 0)
print("_max_pool %.3f" % t(lambda: P._max_pool(x, args, with_argmax=True)))
print("checks %.3f" % t(lambda: (_checks.check_array("x", x, 4, "(N, C, H, W)"),
                                  _checks.check_pool2d("max_pool2d", x.shape, 2, None, 0))))
