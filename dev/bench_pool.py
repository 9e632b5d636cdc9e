"""A/B: convcore pooling vs torch, hot and cold, float32. Usage: bench_pool.py [threads] [case...]"""
import os
import sys

import numpy as np
import torch

import convcore
from convcore import functional as F

sys.path.insert(0, "dev")
from abbench import Cold, interleaved  # noqa: E402

STAT = np.min if os.environ.get("BENCH_STAT") == "min" else np.median

args = sys.argv[1:]
nt = int(args.pop(0)) if args and args[0].isdigit() else 2
torch.set_num_threads(nt)
convcore.set_num_threads(nt)
rng = np.random.default_rng(0)
shape = (32, 64, 32, 32)
x = rng.standard_normal(shape).astype(np.float32)
gy = rng.standard_normal((32, 64, 16, 16)).astype(np.float32)
xt = torch.from_numpy(x)
gyt = torch.from_numpy(gy)
nbytes = x.nbytes
cold_x = Cold(x, 6)


def cc_max_fb(xx):
    y, am = F.max_pool2d_with_argmax(xx, 2)
    return F.max_pool2d_backward_argmax(gy, am, xx.shape, 2)


def t_max_fb(xx):
    xx = torch.from_numpy(xx).requires_grad_()
    y = torch.nn.functional.max_pool2d(xx, 2)
    y.backward(gyt)
    return xx.grad


def cc_avg_fb(xx):
    F.avg_pool2d(xx, 2)
    return F.avg_pool2d_backward(gy, xx.shape, 2)


def t_avg_fb(xx):
    xx = torch.from_numpy(xx).requires_grad_()
    y = torch.nn.functional.avg_pool2d(xx, 2)
    y.backward(gyt)
    return xx.grad


cases = {
    "max fwd": (lambda xx: F.max_pool2d(xx, 2), lambda xx: torch.nn.functional.max_pool2d(
        torch.from_numpy(xx), 2)),
    "max fwd+bwd": (cc_max_fb, t_max_fb),
    "avg fwd": (lambda xx: F.avg_pool2d(xx, 2), lambda xx: torch.nn.functional.avg_pool2d(
        torch.from_numpy(xx), 2)),
    "avg fwd+bwd": (cc_avg_fb, t_avg_fb),
    "max 3x3/2 p1 fwd+bwd": (
        lambda xx: (lambda y_am: F.max_pool2d_backward_argmax(
            np.ones_like(y_am[0]), y_am[1], xx.shape, 3, 2, 1))(F.max_pool2d_with_argmax(xx, 3, 2, 1)),
        lambda xx: (lambda t: (torch.nn.functional.max_pool2d(t, 3, 2, 1).sum().backward(),
                               t.grad))(torch.from_numpy(xx).requires_grad_())),
    "gap fwd": (lambda xx: F.global_avg_pool2d(xx),
                lambda xx: torch.from_numpy(xx).mean((2, 3), keepdim=True)),
}
only = args
print(f"threads {nt}")
print(f"{'case':24s} {'mode':5s} {'convcore ms':>11s} {'torch ms':>9s} {'ratio':>6s} {'GB/s x':>7s}")
for name, (a, b) in cases.items():
    if only and not any(o in name for o in only):
        continue
    for mode in ("hot", "cold"):
        src = (lambda: x) if mode == "hot" else cold_x
        t = interleaved({"cc": lambda: a(src()), "torch": lambda: b(src())}, repeat=int(os.environ.get("BENCH_REPEAT", 25)), stat=STAT)
        print(f"{name:24s} {mode:5s} {t['cc']*1e3:11.3f} {t['torch']*1e3:9.3f} "
              f"{t['torch']/t['cc']:6.1f} {nbytes/t['cc']/1e9:7.1f}")
