"""Interleaved A/B timing helper for the kernel benchmarks (dev only).

time_pair(fns, repeat) runs each callable in turn (A, B, C, A, B, C, ...) after a warm-up and
returns the median (or `stat`, e.g. np.min on an overloaded machine) seconds of each; 'cold' variants get a fresh input each call (caller's job).
"""
import time

import numpy as np


def interleaved(fns: dict, repeat: int = 30, warmup: int = 3, stat=np.median) -> dict:
    times = {k: [] for k in fns}
    for _ in range(warmup):
        for f in fns.values():
            f()
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: float(stat(v)) for k, v in times.items()}


class Cold:
    """Cycle through `count` copies of an array so each call reads memory not in cache."""

    def __init__(self, a, count=8):
        self.copies = [a.copy() for _ in range(count)]
        self.i = 0

    def __call__(self):
        self.i = (self.i + 1) % len(self.copies)
        return self.copies[self.i]
