"""Sizes: 64-bit index arithmetic, and calls whose tensors would exceed 2**31 elements either
work or fail cleanly (MemoryError / ValueError) -- never a crash, a wrong result, a hang or an
OverflowError from a C cast.

Nothing here allocates the memory such tensors would need:
- big *inputs* are zero-stride views of a one-element buffer (``as_strided``);
- big *index arithmetic* comes from huge hyper-parameters on tiny tensors (a dilation of 2**32
  with a padding of 2**32 gives a 1 x 2 output whose value is known by hand);
- every case runs in a child process whose address space is capped at ``LIMIT_GIB``, so an
  attempt to copy or allocate a multi-GiB array fails at once with MemoryError instead of
  eating the machine, and the child's peak RSS shows nothing big was touched.

Under AddressSanitizer (tools/sanitize.sh) the cap can't be an rlimit (ASan reserves terabytes
of shadow memory); ASAN_OPTIONS=max_allocation_size_mb=... makes big allocations fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Callable, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from convcore import functional as F

LIMIT_GIB = 9               # room for one real 8 GiB (lazily zero, untouched) tensor, no copy
MAX_RSS_MIB = 1024          # a child that touched more than this allocated something big
BIG = 2**16                 # BIG * BIG = 2**32 elements > 2**31
# float64: a float32 sum of 2**32 terms stalls at 2**24 ulps (BLAS sgemv does, rightly); the
# expected values below are exact in float64, so a wrong one means wrong indexing.
DT = np.float64


def huge(shape, value=1.0, dtype=DT):
    """A read-only view of ``shape`` (any size) over one element: all strides 0."""
    one = np.full(1, value, dtype)
    return as_strided(one, shape=shape, strides=(0,) * len(shape), writeable=False)


class Case(NamedTuple):
    id: str
    call: Callable[[], object]
    expected: Callable[[], object] | None   # None: must fail cleanly (output can't fit)


_REAL_SHAPE = (1, 1, 2**16, 2**15 + 1)     # 2**31 + 2**16 float32 elements (8 GiB)
_real = []


def real_x() -> np.ndarray:
    """A real C-contiguous float32 array of more than 2**31 elements, all 0 but the last (7).
    np.zeros maps it lazily: reading the zeros touches no memory, so this costs a few pages
    unless something copies it (which the address-space cap and the RSS check catch)."""
    if not _real:
        x = np.zeros(_REAL_SHAPE, np.float32)
        x[0, 0, -1, -1] = 7.0
        _real.append(x)
    return _real[0]


# Rows 0 and 2**16 - 1, columns 0 and 2**15: output (1, 1) is x's last element, at flat index
# 2**31 + 2**16 - 1 -- past any 32-bit index.
_FAR = dict(stride=(2**16 - 1, 2**15))
_FAR_Y = np.array([[[[0, 0], [0, 7]]]], np.float32)


def _arr(values, shape):
    return np.asarray(values, DT).reshape(shape)


def _dilated_pair(d: int):
    """x (1,1,1,1) = 3, weight (1,1,1,2) = [5, 7], dilation (1, d), padding (0, d), stride
    (1, d): Q = 2; output 0 meets x with tap 1 (7*3), output 1 with tap 0 (5*3)."""
    return F.conv2d(_arr(3, (1, 1, 1, 1)), _arr([5, 7], (1, 1, 1, 2)), dilation=(1, d),
                    padding=(0, d), stride=(1, d))


def _huge_window(op, k: int, **kw):
    """x (1,1,1,1) = 3 pooled with a 1 x k window, padding k//2, stride 1: Q = 2, and each
    window holds the one real pixel."""
    return op(_arr(3, (1, 1, 1, 1)), (1, k), stride=1, padding=(0, k // 2), **kw)


CASES: list[Case] = [
    # --- inputs of 2**32 elements (zero-stride views), small outputs --------------------------
    Case("conv2d 2**32-element input, stride 2**16",
         lambda: F.conv2d(huge((1, 1, BIG, BIG)), _arr(2, (1, 1, 1, 1)), stride=BIG),
         lambda: _arr(2, (1, 1, 1, 1))),
    Case("conv2d 2**32-element input and kernel",
         lambda: F.conv2d(huge((1, 1, BIG, BIG), 0.5), huge((1, 1, BIG, BIG), 0.25)),
         lambda: _arr(2.0**32 / 8, (1, 1, 1, 1))),
    Case("max_pool2d 2**32-element input",
         lambda: F.max_pool2d(huge((1, 1, BIG, BIG), 2.0), BIG), lambda: _arr(2, (1, 1, 1, 1))),
    Case("avg_pool2d 2**32-element input",
         lambda: F.avg_pool2d(huge((1, 1, BIG, BIG), 2.0), BIG), lambda: _arr(2, (1, 1, 1, 1))),
    Case("global_avg_pool2d 2**32-element input",
         lambda: F.global_avg_pool2d(huge((1, 1, BIG, BIG), 2.0)),
         lambda: _arr(2, (1, 1, 1, 1))),
    Case("linear 2**32 features",
         lambda: F.linear(huge((1, 2**32), 0.5), huge((1, 2**32), 0.25)),
         lambda: _arr(2.0**32 / 8, (1, 1))),
    Case("cross_entropy 2**32 classes",
         lambda: np.array(F.cross_entropy(huge((1, 2**32)), np.zeros(1, np.int64))),
         lambda: np.array(32 * np.log(2))),
    Case("mse_loss 2**32 elements",
         lambda: np.array(F.mse_loss(huge((2**32,), 1.5), huge((2**32,), 0.5))),
         lambda: np.array(1.0)),
    # --- a real tensor of 2**31 + 2**16 elements: read far past 2**31 ------------------------
    Case("max_pool2d reads element 2**31 + 2**16 - 1",
         lambda: F.max_pool2d(real_x(), 1, **_FAR), lambda: _FAR_Y),
    Case("avg_pool2d reads element 2**31 + 2**16 - 1",
         lambda: F.avg_pool2d(real_x(), 1, **_FAR), lambda: _FAR_Y),
    Case("conv2d 1x1 reads element 2**31 + 2**16 - 1",
         lambda: F.conv2d(real_x(), np.full((1, 1, 1, 1), 2, np.float32), **_FAR),
         lambda: 2 * _FAR_Y),
    Case("global_avg_pool2d over 2**31 + 2**16 elements",
         lambda: F.global_avg_pool2d(real_x()).astype(np.float64),
         lambda: np.full((1, 1, 1, 1), 7 / (2**31 + 2**16))),
    Case("max_pool2d_backward scatters to element 2**31 + 2**16 - 1",
         lambda: F.max_pool2d_backward(np.ones((1, 1, 2, 2), np.float32), real_x(), 1,
                                       **_FAR)[0, 0, -1, -1:],
         lambda: np.ones(1, np.float32)),
    # --- outputs of >= 2**32 elements: must fail cleanly ---------------------------------------
    Case("relu of a 2**32-element view", lambda: F.relu(huge((1, 1, BIG, BIG))), None),
    Case("softmax of a 2**32-element view", lambda: F.softmax(huge((2, 2**31))), None),
    Case("batch_norm2d eval of a 2**32-element view",
         lambda: F.batch_norm2d(huge((BIG, 1, BIG, 1)), np.ones(1, DT), np.zeros(1, DT),
                                np.zeros(1, DT), np.ones(1, DT), training=False), None),
    Case("conv2d output 2**21 x 2**21 (padding 2**20)",
         lambda: F.conv2d(_arr(1, (1, 1, 1, 1)), _arr(1, (1, 1, 1, 1)), padding=2**20), None),
    Case("conv2d output 2**81 elements (padding 2**40)",
         lambda: F.conv2d(_arr(1, (1, 1, 1, 1)), _arr(1, (1, 1, 1, 1)), padding=2**40), None),
    Case("conv2d_backward grad_x of 2**32 elements",
         lambda: F.conv2d_backward(_arr(1, (1, 1, 1, 1)), huge((1, 1, BIG, BIG)),
                                   _arr(1, (1, 1, 1, 1)), stride=BIG), None),
    Case("avg_pool2d_backward x_shape of 2**32 elements",
         lambda: F.avg_pool2d_backward(_arr(1, (1, 1, 1, 1)), (1, 1, BIG, BIG), BIG), None),
    Case("global_avg_pool2d_backward 2**40 planes",
         lambda: F.global_avg_pool2d_backward(huge((2**40, 1, 1, 1)), (2**40, 1, 2, 2)), None),
    # --- 64-bit index arithmetic: huge hyper-parameters, tiny tensors --------------------------
    *[Case(f"conv2d stride {s}",
           lambda s=s: F.conv2d(_arr(np.arange(1, 10), (1, 1, 3, 3)), _arr(2, (1, 1, 1, 1)),
                                stride=s),
           lambda: _arr(2, (1, 1, 1, 1)))
      for s in (2**31 - 1, 2**31, 2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64)],
    *[Case(f"conv2d dilation=padding=stride {d}", lambda d=d: _dilated_pair(d),
           lambda: _arr([21, 15], (1, 1, 1, 2)))
      for d in (2**31 - 1, 2**31, 2**32, 2**40)],
    *[Case(f"max_pool2d stride {s}",
           lambda s=s: F.max_pool2d(_arr(np.arange(1, 10), (1, 1, 3, 3)), 1, stride=s,
                                    return_indices=True),
           lambda: (_arr(1, (1, 1, 1, 1)), np.zeros((1, 1, 1, 1), np.int64)))
      for s in (2**31 - 1, 2**31, 2**63)],
    *[Case(f"max_pool2d window 1x{k}", lambda k=k: _huge_window(F.max_pool2d, k),
           lambda: _arr([3, 3], (1, 1, 1, 2)))
      for k in (2**31 - 2, 2**31, 2**32)],
    *[Case(f"avg_pool2d window 1x{k} count_include_pad=False",
           lambda k=k: _huge_window(F.avg_pool2d, k, count_include_pad=False),
           lambda: _arr([3, 3], (1, 1, 1, 2)))
      for k in (2**31 - 2, 2**32)],
    Case("max_pool2d window 46341 x 46341 (R*S > 2**31), indices",
         lambda: F.max_pool2d(_arr(3, (1, 1, 1, 1)), 46341, stride=1, padding=23170,
                              return_indices=True),
         lambda: (_arr(3, (1, 1, 1, 1)), np.zeros((1, 1, 1, 1), np.int64))),
    Case("max_pool2d_backward window 46341 x 46341",
         lambda: F.max_pool2d_backward(_arr(5, (1, 1, 1, 1)), _arr(3, (1, 1, 1, 1)), 46341,
                                       stride=1, padding=23170),
         lambda: _arr(5, (1, 1, 1, 1))),
]


# --------------------------------------------------------------------------------------------
# Child: run one case under an address-space cap, print one JSON line
# --------------------------------------------------------------------------------------------

def _cap_memory() -> None:
    import resource

    if "asan" in os.environ.get("LD_PRELOAD", ""):
        return                      # ASan: ASAN_OPTIONS max_allocation_size_mb does it
    limit = LIMIT_GIB * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _close(got, want) -> bool:
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    return len(got) == len(want) and all(
        isinstance(g, np.ndarray) and g.shape == w.shape and g.dtype == w.dtype
        and np.allclose(g, w, rtol=1e-5, atol=0) for g, w in zip(got, want))


def child(start: int) -> None:
    """Run the cases from ``start`` on, one JSON line each (peak RSS so far included)."""
    import resource

    for index in range(start, len(CASES)):
        case = CASES[index]
        try:
            got = case.call()
            outcome = {"outcome": "returned",
                       "correct": case.expected is not None and _close(got, case.expected()),
                       "detail": repr(got)[:300]}
        except (MemoryError, ValueError) as exc:
            outcome = {"outcome": "clean error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        except Exception as exc:
            outcome = {"outcome": "wrong exception",
                       "detail": f"{type(exc).__name__}: {exc}"[:300]}
        outcome["index"] = index
        outcome["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(outcome), flush=True)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

import pytest  # noqa: E402

_results: list = []


def _run_all() -> list:
    """Results of every case from capped children; a child that dies marks its case."""
    env = dict(os.environ, OMP_NUM_THREADS="2")
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "allocator_may_return_null=1",
                                                 f"max_allocation_size_mb={LIMIT_GIB * 1024}"]))
    results: list = [None] * len(CASES)
    start = 0
    while start < len(CASES):
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), str(start)],
                                  capture_output=True, text=True, env=env, timeout=600)
            stdout, returncode, stderr = proc.stdout, proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            returncode, stderr = "timeout (600 s)", ""
        for line in stdout.splitlines():
            record = json.loads(line)
            results[record["index"]] = record
            start = record["index"] + 1
        if start < len(CASES):
            results[start] = {"outcome": "crash", "detail": f"the child died ({returncode}) "
                              f"running this case\n{stderr[-3000:]}", "maxrss_mib": 0}
            start += 1
    return results


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_big_call_works_or_fails_cleanly(index):
    if not _results:
        _results.extend(_run_all())
    case, result = CASES[index], _results[index]
    detail = f"{case.id}: {result}"
    assert result["outcome"] in ("returned", "clean error"), detail
    if result["outcome"] == "returned":
        assert case.expected is not None, f"returned a result that can't fit in memory? {detail}"
        assert result["correct"], f"wrong result: {detail}"
    if "asan" not in os.environ.get("LD_PRELOAD", ""):     # ASan's shadow memory counts
        assert result["maxrss_mib"] < MAX_RSS_MIB, (
            f"touched {result['maxrss_mib']:.0f} MiB: {detail}")


def test_cases_are_big():
    """Keep the catalogue honest: the 'huge' inputs really exceed 2**31 elements."""
    assert huge((1, 1, BIG, BIG)).size > 2**31
    assert sum(c.expected is None for c in CASES) >= 5


if __name__ == "__main__":
    _cap_memory()
    child(int(sys.argv[1]))
