"""Single-thread engine GF/s in thread CPU time (robust to other processes on the cores)."""
import sys
import time

import numpy as np

import convcore
from convcore import functional as F

sys.path.insert(0, "dev")
from bench_conv import SHAPES  # noqa: E402

convcore.set_num_threads(1)
rng = np.random.default_rng(0)
names = sys.argv[1].split(",") if len(sys.argv) > 1 else list(SHAPES)
for name in names:
    n, c, k, h, ks, st, pad = SHAPES[name]
    x = rng.standard_normal((n, c, h, h)).astype(np.float32)
    w = rng.standard_normal((k, c, ks, ks)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    y = F.conv2d(x, w, b, stride=st, padding=pad)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    flops = 2.0 * n * k * y.shape[2] * y.shape[3] * c * ks * ks
    out = []
    for label, fn in (("fwd", lambda: F.conv2d(x, w, b, stride=st, padding=pad)),
                      ("dx", lambda: F.conv2d_backward(gy, x, w, stride=st, padding=pad,
                                                       needs=("x",))),
                      ("dw", lambda: F.conv2d_backward(gy, x, w, stride=st, padding=pad,
                                                       needs=("weight",)))):
        ts = []
        for _ in range(5):
            t0 = time.thread_time()
            fn()
            ts.append(time.thread_time() - t0)
        out.append(f"{label} {flops / min(ts) / 1e9:6.1f}")
    print(f"{name:11s}", "  ".join(out), "GF/s (thread CPU time, 1 thread)")
