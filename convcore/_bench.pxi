# The benchmark harness's compiled part (csrc/bench/): the FMA peak loop.

import time

import numpy as np

cdef extern from "convcore.h" nogil:
    int64_t cc_fma_peak_f32(float *sink, int64_t rounds, int n_threads)


def fma_peak_run(int64_t rounds, int n_threads):
    """Run the active ISA's FMA loop for `rounds` rounds on each of `n_threads` threads.

    Returns ``(flops, seconds)``: the fp32 FLOP done by all threads and the wall time, measured
    here around the GIL-free call (thread start-up included: use enough rounds to amortise it).
    """
    if rounds < 0 or n_threads < 1:
        raise ValueError(f"fma_peak_run: rounds must be >= 0 and n_threads >= 1, "
                         f"got rounds={rounds}, n_threads={n_threads}")
    cdef float[::1] sink = np.zeros(n_threads, dtype=np.float32)
    cdef int64_t flops
    start = time.perf_counter()
    with nogil:
        flops = cc_fma_peak_f32(&sink[0], rounds, n_threads)
    seconds = time.perf_counter() - start
    return flops, seconds
