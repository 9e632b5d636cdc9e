import time

import numpy as np

x = np.random.default_rng(0).standard_normal((32, 64, 32, 32)).astype(np.float32)
out = np.empty_like(x)


def t(f, n=20):
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return np.median(ts) * 1e3


print("np.copy (new out) %.3f ms" % t(lambda: x.copy()))
print("np.copyto (existing out) %.3f ms" % t(lambda: np.copyto(out, x)))
print("np.empty+touch %.3f ms" % t(lambda: np.empty_like(x).fill(0)))
print("np.maximum(x,0) %.3f ms" % t(lambda: np.maximum(x, 0)))
print("np.maximum(x,0,out) %.3f ms" % t(lambda: np.maximum(x, 0, out=out)))
