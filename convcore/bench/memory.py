"""Peak extra memory of one conv call, per shape, measured from the outside.

tracemalloc sees only Python's allocator, not the C kernels' malloc nor torch's, so this measures
the process's resident-set high-water mark (Linux: VmHWM in /proc/self/status) instead:

  a fresh Python process builds the inputs, makes one small warm-up call (so OpenMP's threads and
  any lazy set-up exist), resets the high-water mark to the current RSS (``echo 5 >
  /proc/self/clear_refs``), makes the measured call, and reads the high-water mark again.

extra = high-water growth during the call - the bytes of the results it returns (the results
are the caller's, not workspace). Earlier calls' freed heap pages that malloc kept would hide new
use, so each shape runs in a fresh process and glibc's ``malloc_trim(0)`` hands free pages back
to the system before each measured call (forward, then backward). Pages touched count; address
space reserved but never touched does not. Without /proc (not Linux) the figures are None.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict

from .cases import ConvShape

_SCRIPT = r"""
import ctypes, gc, json, re, sys
import numpy as np

try:
    _libc = ctypes.CDLL("libc.so.6")
    def trim():
        _libc.malloc_trim(0)
except (OSError, AttributeError):
    def trim():
        pass

impl, n, c, k, h, w, r, stride, pad, groups, threads = sys.argv[1:]
n, c, k, h, w, r, stride, pad, groups, threads = map(int, (n, c, k, h, w, r, stride, pad,
                                                            groups, threads))

def status(field):
    with open("/proc/self/status") as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1)) * 1024

rng = np.random.default_rng(0)
x = rng.standard_normal((n, c, h, w), dtype=np.float32)
wt = rng.standard_normal((k, c // groups, r, r), dtype=np.float32)
b = rng.standard_normal(k, dtype=np.float32)
p = (h + 2 * pad - r) // stride + 1
q = (w + 2 * pad - r) // stride + 1
gy = rng.standard_normal((n, k, p, q), dtype=np.float32)

if impl == "torch":
    import torch
    torch.set_num_threads(threads)
    tx, tw, tb, tgy = map(torch.from_numpy, (x, wt, b, gy))
    def fwd():
        return [torch.nn.functional.conv2d(tx, tw, tb, stride, pad, 1, groups)]
    def bwd():
        return list(torch.ops.aten.convolution_backward(
            tgy, tx, tw, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], groups,
            [True, True, True]))
    torch.nn.functional.conv2d(torch.ones(1, c, r, r), tw, tb, 1, 0, 1, groups)
else:
    import convcore
    import convcore.functional as F
    convcore.set_num_threads(threads)
    def fwd():
        return [F.conv2d(x, wt, b, stride, pad, 1, groups)]
    def bwd():
        return list(F.conv2d_backward(gy, x, wt, stride, pad, 1, groups))
    F.conv2d(np.ones((1, c, r, r), np.float32), wt, b, 1, 0, 1, groups)

result = {}
for name, call in (("fwd", fwd), ("bwd", bwd)):
    gc.collect()
    trim()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    outs = call()
    peak = status("VmHWM")
    out_bytes = sum(int(o.numel() * o.element_size()) if hasattr(o, "numel") else o.nbytes
                    for o in outs)
    result[name] = max(0, peak - before - out_bytes)
    del outs
print(json.dumps(result))
"""


def conv_extra_memory(shape: ConvShape, impl: str = "convcore",
                      threads: int = 1) -> Dict[str, int] | None:
    """{"fwd": bytes, "bwd": bytes}: peak extra resident memory of one conv2d call and of one
    conv2d_backward call (all three gradients), or None where it can't be measured."""
    if not os.path.exists("/proc/self/clear_refs"):
        return None
    args = [impl, shape.n, shape.c, shape.k, shape.h, shape.w, shape.r, shape.stride, shape.pad,
            shape.groups, threads]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [p for p in [_package_root(), os.environ.get("PYTHONPATH", "")] if p]))
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe of {shape.name} ({impl}) failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _package_root() -> str:
    """The directory holding this convcore (so the probe imports the same build)."""
    import convcore
    return os.path.dirname(os.path.dirname(os.path.abspath(convcore.__file__)))
