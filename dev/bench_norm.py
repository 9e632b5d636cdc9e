"""A/B: convcore batch norm vs torch, hot and cold, float32 (32, 64, 32, 32)."""
import os
import sys

import numpy as np
import torch

import convcore
from convcore import functional as F

sys.path.insert(0, "dev")
from abbench import Cold, interleaved  # noqa: E402

STAT = np.min if os.environ.get("BENCH_STAT") == "min" else np.median

nt = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(nt)
convcore.set_num_threads(nt)
rng = np.random.default_rng(0)
shape = (32, 64, 32, 32)
x = rng.standard_normal(shape).astype(np.float32)
gy = rng.standard_normal(shape).astype(np.float32)
g = np.ones(64, np.float32)
b = np.zeros(64, np.float32)
rm = np.zeros(64, np.float32)
rv = np.ones(64, np.float32)
gyt = torch.from_numpy(gy)
cold_x = Cold(x, 4)
bn_t = torch.nn.BatchNorm2d(64)


def cc_fwd(xx):
    return F.batch_norm2d(xx, g, b, rm, rv)


def cc_fb(xx, act=None):
    y, m, s = F.batch_norm2d(xx, g, b, rm, rv, activation=act)
    return F.batch_norm2d_backward(gy, xx, g, m, s, y=y, activation=act)


def cc_bn_then_relu(xx):
    y, m, s = F.batch_norm2d(xx, g, b, rm, rv)
    r = F.relu(y)
    gr = F.relu_backward(gy, y)
    return F.batch_norm2d_backward(gr, xx, g, m, s), r


def t_fwd(xx):
    with torch.no_grad():
        return bn_t(torch.from_numpy(xx))


def t_fb(xx, relu=False):
    t = torch.from_numpy(xx).requires_grad_()
    y = bn_t(t)
    if relu:
        y = torch.relu(y)
    y.backward(gyt)
    return t.grad


cases = {
    "bn train fwd": (cc_fwd, t_fwd),
    "bn train fwd+bwd": (cc_fb, t_fb),
    "bn+relu fused fwd+bwd": (lambda xx: cc_fb(xx, "relu"), lambda xx: t_fb(xx, True)),
    "bn then relu (convcore)": (cc_bn_then_relu, lambda xx: t_fb(xx, True)),
}
print(f"threads {nt}")
print(f"{'case':26s} {'mode':5s} {'convcore ms':>11s} {'torch ms':>9s} {'ratio':>6s}")
for name, (a, bb) in cases.items():
    for mode in ("hot", "cold"):
        src = (lambda: x) if mode == "hot" else cold_x
        t = interleaved({"cc": lambda: a(src()), "torch": lambda: bb(src())}, repeat=int(os.environ.get("BENCH_REPEAT", 15)), stat=STAT)
        print(f"{name:26s} {mode:5s} {t['cc']*1e3:11.3f} {t['torch']*1e3:9.3f} "
              f"{t['torch']/t['cc']:6.1f}")
