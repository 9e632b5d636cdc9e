import numpy as np, torch, sys
from convcore import _kernels
import convcore

def osz(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1

def run(N, C, K, H, W, R, S, st, pad, dil, G, dtype, act=0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C // G, R, S)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    P, Q = osz(H, R, st[0], pad[0], dil[0]), osz(W, S, st[1], pad[1], dil[1])
    y = np.empty((N, K, P, Q), dtype)
    _kernels.conv2d_forward(y, x, w, b, st, pad, dil, G, act)
    tx = torch.from_numpy(x).double().requires_grad_()
    tw = torch.from_numpy(w).double().requires_grad_()
    tb = torch.from_numpy(b).double().requires_grad_()
    ty = torch.nn.functional.conv2d(tx, tw, tb, st, pad, dil, G)
    if act: ty = torch.relu(ty)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ty.backward(torch.from_numpy(gy).double())
    err = np.abs(y - ty.detach().numpy()).max() / max(1e-30, np.abs(ty.detach().numpy()).max())
    gx = np.empty_like(x); gw = np.empty_like(w); gb = np.empty_like(b)
    _kernels.conv2d_backward(gx, gw, gb, gy, x, w, st, pad, dil, G)
    e = [err]
    for a, t in ((gx, tx.grad), (gw, tw.grad), (gb, tb.grad)):
        t = t.numpy()
        e.append(np.abs(a - t).max() / max(1e-30, np.abs(t).max()))
    return e

cases = [
 (2, 3, 5, 7, 9, 3, 3, (1,1), (1,1), (1,1), 1),
 (1, 4, 8, 10, 6, 3, 2, (2,1), (0,2), (1,2), 2),
 (3, 6, 6, 11, 11, 3, 3, (1,1), (1,1), (1,1), 6),
 (2, 16, 20, 9, 13, 1, 1, (1,1), (0,0), (1,1), 1),
 (2, 7, 13, 17, 15, 5, 5, (3,2), (4,3), (2,1), 1),
 (1, 300, 40, 6, 5, 3, 3, (1,1), (1,1), (1,1), 1),
 (2, 8, 70, 20, 21, 3, 3, (1,1), (1,1), (1,1), 1),
 (1, 1, 32, 28, 28, 5, 5, (1,1), (2,2), (1,1), 1),
]
for isa in _kernels.available_isas():
    _kernels.set_isa(isa)
    for dt in (np.float32, np.float64):
        for c in cases:
            e = run(*c, dt, act=0)
            print(isa, dt.__name__, c, ["%.1e" % v for v in e])
