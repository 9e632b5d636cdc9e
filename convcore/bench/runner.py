"""The interleaved A/B runner: check each case's result, then time the implementations in turn.

Per case and thread count:
1. build each implementation's callable on the same inputs (a ring of input copies larger than
   twice the L3 cache for "cold" cases, so every call reads memory no other call left in cache);
2. check: run convcore and the oracle (torch or convcore.reference) once and compare every
   output; a mismatch raises ``BenchMismatch`` naming the case, the output and the error;
3. warm up, then calibrate: a sample is ``inner`` back-to-back calls lasting >= min_sample_s,
   so that timer resolution and call jitter don't dominate sub-millisecond ops;
4. time: A, B, (baselines), A, B, ... for ``repeat`` rounds, so that a noisy neighbour or a
   frequency change hits every implementation alike; report medians and quartiles.
The ratio is comparison time / convcore time: above 1, convcore is faster.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from .cases import Case, optional_torch


class BenchMismatch(AssertionError):
    """convcore's result differs from the oracle's: the numbers would be meaningless."""


@dataclass
class Settings:
    """How hard to measure. ``quick`` gives CI-sized runs (fewer, shorter samples)."""

    repeat: int = 15
    warmup: int = 2
    min_sample_s: float = 0.004
    max_case_s: float = 8.0      # a case whose rounds would take longer gets fewer rounds
    min_repeat: int = 3
    budget_s: float = 220.0      # the whole run: cases get fewer rounds (and say so) to fit it;
    #                              checks and warm-ups come on top, hence the margin to 5 min
    # Pause before each sample when several threads run: an OpenMP runtime's idle threads spin
    # for a few ms after a parallel region (measured 2-5 ms of CPU for torch's and convcore's
    # libgomp), and would steal the cores from the next implementation's first calls.
    switch_gap_s: float = 0.005

    @classmethod
    def quick(cls, repeat: int | None = None) -> Settings:
        return cls(repeat=repeat or 5, warmup=1, min_sample_s=0.002, max_case_s=2.0,
                   min_repeat=3, switch_gap_s=0.002, budget_s=90.0)


@dataclass
class Timing:
    """Seconds per call of one implementation: one value per sample."""

    samples: List[float]
    inner: int

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.samples, q))

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    def as_dict(self, work: float, unit: str) -> Dict[str, Any]:
        med = self.median
        return {
            "samples_ms": [s * 1e3 for s in self.samples],
            "inner": self.inner,
            "median_ms": med * 1e3,
            "q1_ms": self.quantile(0.25) * 1e3,
            "q3_ms": self.quantile(0.75) * 1e3,
            "min_ms": min(self.samples) * 1e3,
            "max_ms": max(self.samples) * 1e3,
            "rate": rate(work, unit, med),
        }


def rate(work: float, unit: str, seconds: float) -> float:
    """GF/s or GB/s (work in FLOP or bytes), or images/s."""
    if seconds <= 0:
        return float("nan")
    return work / seconds if unit == "img/s" else work / seconds / 1e9


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------

def as_arrays(result: Any) -> List[np.ndarray]:
    """The outputs of a call as float64 arrays (tensors, tuples and floats unpacked)."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    out = []
    for item in items:
        if hasattr(item, "detach"):          # a torch tensor
            item = item.detach().numpy()
        out.append(np.asarray(item, dtype=np.float64))
    return out


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want| (NaN anywhere in got -> inf)."""
    if got.shape != want.shape:
        return math.inf
    if got.size == 0:
        return 0.0
    if not np.all(np.isfinite(got)):
        return math.inf
    scale = float(np.max(np.abs(want)))
    return float(np.max(np.abs(got - want))) / max(scale, 1e-30)


def check_case(case: Case, oracle: str, inputs: Dict[str, Any]) -> Dict[str, float]:
    """Compare convcore with ``oracle`` on ``inputs``; returns the error per output.

    Raises BenchMismatch when any output is off by more than case.rtol (or has the wrong shape).
    """
    if case.check is not None:
        errors = case.check(oracle)
    else:
        got = as_arrays(case.builders["convcore"](inputs)())
        want = as_arrays(case.builders[oracle](inputs)())
        names = list(case.outputs) or [f"out{i}" for i in range(len(want))]
        if len(got) != len(want):
            raise BenchMismatch(f"{case.id}: convcore returned {len(got)} outputs, "
                                f"{oracle} {len(want)}")
        errors = {}
        for name, g, w in zip(names, got, want):
            errors[name] = relative_error(g, w)
            if g.shape != w.shape:
                raise BenchMismatch(f"{case.id}: output {name!r} has shape {g.shape}, "
                                    f"{oracle} gives {w.shape}")
    bad = {k: v for k, v in errors.items() if not v <= case.rtol}
    if bad:
        worst = max(bad, key=bad.get)
        raise BenchMismatch(
            f"{case.id}: convcore's result differs from {oracle}'s: output {worst!r} has "
            f"relative error {bad[worst]:.3g} > {case.rtol:g} (all failing: "
            + ", ".join(f"{k}={v:.3g}" for k, v in bad.items()) + ")")
    return errors


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

def _l3_bytes() -> int:
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            text = f.read().strip().upper()
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
        return int(text.rstrip("KMG")) * scale
    except (OSError, ValueError):
        return 32 << 20


L3_BYTES = _l3_bytes()
MAX_RING = 64


def input_ring(case: Case) -> List[Dict[str, Any]]:
    """The input sets a case cycles through: one (hot) or copies totalling > 2x L3 (cold).

    At most MAX_RING copies: inputs so small that it would take more (the tiny smoke-test
    shapes) can't be made cold this way anyway."""
    first = case.make_inputs(np.random.default_rng(case.seed))
    if case.cache != "cold":
        return [first]
    size = sum(v.nbytes for v in first.values() if isinstance(v, np.ndarray))
    count = min(MAX_RING, max(2, math.ceil(2 * L3_BYTES / max(size, 1))))
    return [first] + [{k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in first.items()} for _ in range(count - 1)]


def cycling(thunks: Sequence[Callable[[], Any]]) -> Callable[[], Any]:
    """One callable that runs the next thunk of the ring at each call."""
    if len(thunks) == 1:
        return thunks[0]
    state = {"i": 0}

    def call():
        i = state["i"]
        state["i"] = (i + 1) % len(thunks)
        return thunks[i]()
    return call


def _time_once(fn: Callable[[], Any], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def time_interleaved(fns: Dict[str, Callable[[], Any]], settings: Settings, threads: int = 1,
                     ) -> tuple[Dict[str, Timing], str | None]:
    """Warm up, calibrate, then time every callable in turn for the rounds; returns the timings
    and a note when the rounds had to be cut to keep the case under settings.max_case_s."""
    gap = settings.switch_gap_s if threads > 1 else 0.0
    per_call: Dict[str, float] = {}
    for _ in range(max(1, settings.warmup)):
        for name, fn in fns.items():
            per_call[name] = _time_once(fn, 1)
        if sum(per_call.values()) > 0.1 * settings.max_case_s:
            break               # slow calls: one warm-up is enough, keep the time for rounds
    inner = {name: max(1, math.ceil(settings.min_sample_s / max(t, 1e-9)))
             for name, t in per_call.items()}
    round_s = sum(per_call[n] * inner[n] + gap for n in fns)
    repeat, note = settings.repeat, None
    if repeat * round_s > settings.max_case_s:
        repeat = max(settings.min_repeat, int(settings.max_case_s / max(round_s, 1e-9)))
        if repeat < settings.repeat:
            note = f"{repeat} rounds (not {settings.repeat}): one round takes {round_s:.2f} s"
    samples: Dict[str, List[float]] = {n: [] for n in fns}
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                if gap:
                    time.sleep(gap)
                samples[name].append(_time_once(fn, inner[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {n: Timing(samples[n], inner[n]) for n in fns}, note


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------

@dataclass
class ThreadScope:
    """Set convcore's and torch's thread counts to n for a block of cases, NumPy's BLAS to
    ``blas`` threads.

    Give BLAS n threads only when the reference is timed: OpenBLAS's idle threads spin for
    ~40 ms after each call (measured here) and would steal the cores from the implementation
    timed next.
    """

    n: int
    blas: int = 1
    _undo: List[Callable[[], None]] = field(default_factory=list)

    def __enter__(self) -> ThreadScope:
        import convcore

        previous = convcore.get_num_threads()
        convcore.set_num_threads(self.n)
        self._undo.append(lambda: convcore.set_num_threads(previous))
        torch = optional_torch()
        if torch is not None:
            torch_previous = torch.get_num_threads()
            torch.set_num_threads(self.n)
            self._undo.append(lambda: torch.set_num_threads(torch_previous))
        try:
            from threadpoolctl import threadpool_limits
            limits = threadpool_limits(limits=self.blas, user_api="blas")
            self._undo.append(limits.restore_original_limits)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc) -> None:
        while self._undo:
            self._undo.pop()()


# --------------------------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------------------------

def run_case(case: Case, threads: int, oracle: str, compare: str | None,
             settings: Settings) -> Dict[str, Any]:
    """Check then time ``case`` on ``threads`` threads; returns its JSON-ready record.

    ``oracle``: the implementation the result is checked against. ``compare``: the one timed
    against convcore (None: convcore and the baselines only).
    """
    ring = input_ring(case)
    errors = check_case(case, oracle, ring[0])
    names = ["convcore"] + ([compare] if compare else []) + list(case.baselines)
    builders = {**case.builders, **case.baselines}
    fns = {name: cycling([builders[name](inputs) for inputs in ring]) for name in names}
    timings, note = time_interleaved(fns, settings, threads)
    del fns, ring

    record: Dict[str, Any] = {
        "id": case.id, "op": case.op, "name": case.name, "shape": case.shape,
        "variant": case.variant, "cache": case.cache, "unit": case.unit, "work": case.work,
        "threads": threads, "rounds": len(timings["convcore"].samples),
        "impls": {n: t.as_dict(case.work, case.unit) for n, t in timings.items()},
        "check": {"oracle": oracle, "rtol": case.rtol, "errors": errors},
        "compare": compare, "ratio": None, "baselines": {},
        "note": "; ".join(filter(None, [case.describe() if case.describe else None, note])),
    }
    ours = timings["convcore"].median
    if compare:
        record["ratio"] = timings[compare].median / ours
    for name in case.baselines:
        # > 1: convcore's op takes longer than the baseline (e.g. activation vs memory copy)
        record["baselines"][name] = ours / timings[name].median
    return record


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
