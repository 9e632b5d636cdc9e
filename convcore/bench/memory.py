"""Peak extra memory of one conv call, per shape, measured from the outside.

tracemalloc sees only Python's allocator, not the C kernels' malloc nor torch's, so this measures
the process's resident-set high-water mark (Linux: VmHWM in /proc/self/status) instead:

  a fresh Python process per implementation makes one small warm-up call (so OpenMP's threads
  and any lazy set-up exist); then for each shape it builds the inputs, hands every free heap page
  back to the system (glibc ``malloc_trim(0)``: pages an earlier call freed but malloc kept would
  otherwise hide new use), resets the high-water mark to the current RSS (``echo 5 >
  /proc/self/clear_refs``), makes the measured call and reads the high-water mark again; the
  same for the backward call.

extra = high-water growth during the call - the bytes of the results it returns (the results
are the caller's, not workspace). Pages touched count; address space reserved but never touched
does not. Without /proc (not Linux) the figures are None.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, List, Sequence

from .cases import ConvShape

_SCRIPT = r"""
import ctypes, gc, json, re, sys
import numpy as np

impl, threads, shapes = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
try:
    _libc = ctypes.CDLL("libc.so.6")
    def trim():
        _libc.malloc_trim(0)
except (OSError, AttributeError):
    def trim():
        pass

def status(field):
    with open("/proc/self/status") as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1)) * 1024

if impl == "torch":
    import torch
    torch.set_num_threads(threads)
    def calls(x, w, b, gy, k, stride, pad, groups):
        tx, tw, tb, tgy = map(torch.from_numpy, (x, w, b, gy))
        fwd = lambda: [torch.nn.functional.conv2d(tx, tw, tb, stride, pad, 1, groups)]
        bwd = lambda: list(torch.ops.aten.convolution_backward(
            tgy, tx, tw, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], groups,
            [True, True, True]))
        return fwd, bwd
else:
    import convcore
    import convcore.functional as F
    convcore.set_num_threads(threads)
    def calls(x, w, b, gy, k, stride, pad, groups):
        fwd = lambda: [F.conv2d(x, w, b, stride, pad, 1, groups)]
        bwd = lambda: list(F.conv2d_backward(gy, x, w, stride, pad, 1, groups))
        return fwd, bwd

def nbytes(o):
    return int(o.numel() * o.element_size()) if hasattr(o, "numel") else o.nbytes

rng = np.random.default_rng(0)
warm = calls(*(np.ones(s, np.float32) for s in [(1, 2, 4, 4), (2, 2, 3, 3), (2,), (1, 2, 2, 2)]),
             2, 1, 0, 1)
warm[0](), warm[1]()
for name, n, c, k, h, w, r, stride, pad, groups in shapes:
    p = (h + 2 * pad - r) // stride + 1
    q = (w + 2 * pad - r) // stride + 1
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((k, c // groups, r, r), dtype=np.float32)
    b = rng.standard_normal(k, dtype=np.float32)
    gy = rng.standard_normal((n, k, p, q), dtype=np.float32)
    result = {}
    for label, call in zip(("fwd", "bwd"), calls(x, wt, b, gy, k, stride, pad, groups)):
        gc.collect()
        trim()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS")
        outs = call()
        result[label] = max(0, status("VmHWM") - before - sum(nbytes(o) for o in outs))
        del outs
    print(json.dumps([name, result]), flush=True)
"""


def conv_extra_memory(shapes: Sequence[ConvShape], impl: str = "convcore", threads: int = 1,
                      timeout: float = 300.0) -> Dict[str, Dict[str, int] | None]:
    """{shape name: {"fwd": bytes, "bwd": bytes}}: peak extra resident memory of one conv2d
    call and of one conv2d_backward call (all three gradients) per shape, in one fresh process
    for ``impl`` ("convcore" or "torch"). A shape is None where it can't be measured (not
    Linux, or the probe ran out of ``timeout`` seconds before reaching it)."""
    results: Dict[str, Dict[str, int] | None] = {s.name: None for s in shapes}
    if not os.path.exists("/proc/self/clear_refs") or not shapes:
        return results
    spec: List[list] = [[s.name, s.n, s.c, s.k, s.h, s.w, s.r, s.stride, s.pad, s.groups]
                        for s in shapes]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [p for p in [_package_root(), os.environ.get("PYTHONPATH", "")] if p]))
    command = [sys.executable, "-c", _SCRIPT, impl, str(threads), json.dumps(spec)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        stdout = proc.stdout
        if proc.returncode != 0:
            raise RuntimeError(f"memory probe ({impl}) failed:\n{proc.stderr[-2000:]}")
    except subprocess.TimeoutExpired as err:
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
    for line in stdout.splitlines():
        if line.startswith("["):
            name, result = json.loads(line)
            results[name] = result
    return results


def _package_root() -> str:
    """The directory holding this convcore (so the probe imports the same build)."""
    import convcore
    return os.path.dirname(os.path.dirname(os.path.abspath(convcore.__file__)))
