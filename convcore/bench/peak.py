"""This machine's measured fp32 FMA peak, for the "% of peak" column.

The loop (csrc/bench/fma_peak*.c) keeps many independent FMA chains in registers, so it runs at
the FMA throughput of the ISA convcore is using now (AVX-512, AVX2+FMA or portable C). It runs on
1 and on n threads; the best of a few short runs is kept, since anything slowing it down (another
process on the core, a frequency dip) only ever lowers it. Results are cached per (ISA, threads)
for the life of the process.
"""

from __future__ import annotations

from typing import Dict, Tuple

from .. import _kernels

_cache: Dict[Tuple[str, int], float] = {}


def measure_peak_gflops(threads: int, runs: int = 5, seconds: float = 0.05) -> float:
    """Best fp32 GFLOP/s of the active ISA's FMA loop on ``threads`` threads (cached)."""
    key = (_kernels.isa(), threads)
    if key in _cache:
        return _cache[key]
    # Calibrate on one thread, the count least disturbed by other processes, so that every run
    # lasts ~seconds even when a busy core stretches the n-thread runs.
    _, elapsed = _kernels.fma_peak_run(200_000, 1)
    rounds = max(10_000, int(seconds * 200_000 / max(elapsed, 1e-9)))
    best = 0.0
    for _ in range(runs):
        flops, elapsed = _kernels.fma_peak_run(rounds, threads)
        best = max(best, flops / elapsed / 1e9)
    _cache[key] = best
    return best


def peak_report(thread_counts, quick: bool = False) -> Dict[str, object]:
    """{"isa", "gflops": {threads: GF/s}, "per_core_gflops", "method"} for the JSON and header."""
    runs, seconds = (3, 0.02) if quick else (5, 0.05)
    counts = sorted({1, *thread_counts})
    gflops = {str(n): measure_peak_gflops(n, runs, seconds) for n in counts}
    notes = []
    for n in counts:
        if n > 1 and gflops[str(n)] < 0.75 * n * gflops["1"]:
            notes.append(f"the {n}-thread peak is {gflops[str(n)] / gflops['1']:.2f}x the "
                         "1-thread one: other processes are probably using the cores")
    return {
        "isa": _kernels.isa(),
        "notes": notes,
        "gflops": gflops,
        "per_core_gflops": gflops["1"],
        "method": "fp32 FMA loop on independent register accumulators (csrc/bench), best of "
                  f"{runs} runs of ~{seconds * 1e3:.0f} ms per thread count",
    }
