/* The FMA peak loop of the benchmark harness (convcore.bench): how many fp32 FLOP/s the ISA in
 * use can do on this machine, so that "% of peak" in the tables is measured, not assumed.
 *
 * Each ISA's loop keeps enough independent accumulator chains to cover the FMA latency on every
 * FMA pipe (latency 4-5 cycles x 2 pipes on Zen 3/4 and Intel cores -> at least 8-10 vectors in
 * flight), so it is bound by FMA throughput, not latency. Nothing is loaded from memory.
 */
#ifndef CONVCORE_BENCH_H
#define CONVCORE_BENCH_H

#include <stdint.h>

/* Run `rounds` rounds of the active ISA's FMA loop on each of n_threads threads (OpenMP).
 * sink[t] receives thread t's final value (so the work can't be optimised away; sink holds at
 * least n_threads floats). Returns the fp32 floating-point operations done by all threads
 * (one FMA = 2 FLOP per lane). */
int64_t cc_fma_peak_f32(float *sink, int64_t rounds, int n_threads);

/* One thread's loop for each ISA: returns the FLOP it did, its final value in *sink. */
int64_t cc_fma_loop_f32_scalar(float *sink, int64_t rounds);
int64_t cc_fma_loop_f32_avx2(float *sink, int64_t rounds);
int64_t cc_fma_loop_f32_avx512(float *sink, int64_t rounds);

#endif
