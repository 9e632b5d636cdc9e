"""Interleaved timing of conv2d_backward's parts (weight grad, data grad, both) against torch.

python dev/bench_dw.py [reps]  -- medians of `reps` rounds, 2 threads (dev tool, not shipped).
"""
import sys

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, __import__("os").path.dirname(__file__))
sys.path.insert(1, __import__("os").path.dirname(__import__("os").path.dirname(__file__)))
from abbench import interleaved  # noqa: E402

from convcore import _kernels as K  # noqa: E402

SHAPES = {  # N, C, K, H(=W), k, pad
    "lenet-c2": (64, 32, 64, 14, 5, 0),
    "vgg-28": (8, 128, 128, 28, 3, 1),
    "resnet20-b": (32, 32, 32, 16, 3, 1),
}


def bench_shape(name: str, n: int, c: int, k: int, h: int, r: int, pad: int, reps: int) -> None:
    rng = np.random.default_rng(0)
    p = h + 2 * pad - r + 1
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    w = rng.standard_normal((k, c, r, r), dtype=np.float32)
    gy = rng.standard_normal((n, k, p, p), dtype=np.float32)
    gx, gw = np.empty_like(x), np.empty_like(w)
    tx, tw, tgy = (torch.from_numpy(a) for a in (x, w, gy))

    def ours_w():
        K.conv2d_backward(None, gw, None, gy, x, w, (1, 1), (pad, pad), (1, 1), 1)

    def ours_x():
        K.conv2d_backward(gx, None, None, gy, x, w, (1, 1), (pad, pad), (1, 1), 1)

    def ours_both():
        K.conv2d_backward(gx, gw, None, gy, x, w, (1, 1), (pad, pad), (1, 1), 1)

    def torch_w():
        torch.nn.grad.conv2d_weight(tx, tw.shape, tgy, padding=pad)

    def torch_both():
        torch.ops.aten.convolution_backward(tgy, tx, tw, None, (1, 1), (pad, pad), (1, 1),
                                            False, (0, 0), 1, (True, True, False))

    t = interleaved({"dW": ours_w, "dX": ours_x, "both": ours_both, "torch_dW": torch_w,
                     "torch_both": torch_both}, repeat=reps)
    fl = 2.0 * n * k * p * p * c * r * r
    print(f"{name:11s} dW {t['dW']*1e3:7.2f} ms {fl/t['dW']/1e9:6.1f} GF/s "
          f"(torch {t['torch_dW']*1e3:6.2f}, ratio {t['torch_dW']/t['dW']:.2f}) | "
          f"dX {t['dX']*1e3:7.2f} ms {fl/t['dX']/1e9:6.1f} GF/s | both "
          f"{t['both']*1e3:7.2f} ms {2*fl/t['both']/1e9:6.1f} GF/s (torch "
          f"{t['torch_both']*1e3:6.2f}, ratio {t['torch_both']/t['both']:.2f})", flush=True)


def main(reps: int = 9) -> None:
    torch.set_num_threads(2)
    for name, shape in SHAPES.items():
        bench_shape(name, *shape, reps)


if __name__ == "__main__":
    with threadpool_limits(1, "blas"):
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
