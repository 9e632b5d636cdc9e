"""A/B: convcore activations vs a memory copy of the same bytes, NumPy and torch (float32).

Forward ops move 2 arrays (read x, write y), backward ones 3 (read grad_y and x/y, write
grad_x). 'copy' is np.copy of x (2 arrays: the bytes of a forward); the backward target is
1.5x its time. Usage: python dev/bench_pointwise.py [threads]
"""
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
x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
gy = rng.standard_normal(x.shape).astype(np.float32)
y_sig = F.sigmoid(x)
xt, gyt = torch.from_numpy(x), torch.from_numpy(gy)
nbytes = x.nbytes
cold = Cold(x, 4)

forward = {
    "relu": (F.relu, torch.relu, lambda a: np.maximum(a, 0)),
    "leaky_relu": (F.leaky_relu, lambda t: torch.nn.functional.leaky_relu(t, 0.01),
                   lambda a: np.where(a > 0, a, a * np.float32(0.01))),
    "elu": (F.elu, torch.nn.functional.elu, None),
    "sigmoid": (F.sigmoid, torch.sigmoid, None),
    "tanh": (F.tanh, torch.tanh, np.tanh),
}
print(f"threads {nt}; (32, 64, 32, 32) float32, {nbytes / 1e6:.1f} MB per array")
print(f"{'op':22s} {'mode':4s} {'cc ms':>7s} {'copy ms':>7s} {'cc/copy':>7s} {'GB/s':>6s} "
      f"{'torch ms':>8s} {'torch/cc':>8s} {'numpy ms':>8s}")
for name, (cc, tt, npf) in forward.items():
    for mode in ("hot", "cold"):
        src = (lambda: x) if mode == "hot" else cold
        fns = {"cc": lambda: cc(src()), "copy": lambda: src().copy(),
               "torch": lambda: tt(torch.from_numpy(src()))}
        if npf is not None:
            fns["numpy"] = lambda: npf(src())
        t = interleaved(fns, repeat=int(os.environ.get("BENCH_REPEAT", 15)), stat=STAT)
        print(f"{name:22s} {mode:4s} {t['cc']*1e3:7.3f} {t['copy']*1e3:7.3f} "
              f"{t['cc']/t['copy']:7.2f} {2*nbytes/t['cc']/1e9:6.1f} {t['torch']*1e3:8.3f} "
              f"{t['torch']/t['cc']:8.1f} {t.get('numpy', float('nan'))*1e3:8.3f}")

backward = {
    "relu_backward": (lambda: F.relu_backward(gy, x),
                      lambda: torch.ops.aten.threshold_backward(gyt, xt, 0)),
    "sigmoid_backward": (lambda: F.sigmoid_backward(gy, y_sig),
                         lambda: torch.ops.aten.sigmoid_backward(gyt, torch.from_numpy(y_sig))),
    "tanh_backward": (lambda: F.tanh_backward(gy, y_sig),
                      lambda: torch.ops.aten.tanh_backward(gyt, torch.from_numpy(y_sig))),
    "elu_backward": (lambda: F.elu_backward(gy, x), None),
}
for name, (cc, tt) in backward.items():
    fns = {"cc": cc, "copy": lambda: x.copy()}
    if tt is not None:
        fns["torch"] = tt
    t = interleaved(fns, repeat=int(os.environ.get("BENCH_REPEAT", 15)), stat=STAT)
    print(f"{name:22s} {'hot':4s} {t['cc']*1e3:7.3f} {1.5*t['copy']*1e3:7.3f} "
          f"{t['cc']/(1.5*t['copy']):7.2f} {3*nbytes/t['cc']/1e9:6.1f} "
          f"{t.get('torch', float('nan'))*1e3:8.3f} {t.get('torch', float('nan'))/t['cc']:8.1f}")
