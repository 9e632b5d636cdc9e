/* FMA peak: dispatch of the per-ISA loops and the OpenMP driver (see bench.h).
 *
 * The portable loop below is what plain C compiled without ISA flags can reach (the compiler may
 * vectorise it to SSE multiply + add); it is the "peak" quoted when the scalar kernels are in use.
 * Every thread runs the same number of rounds, so the FLOP total is exact and the caller's wall
 * time covers the slowest thread: a loaded core shows up as a lower peak, as it should.
 * No tensor dimensions here: the loops touch no arrays, only registers and sink[t] at the end.
 */
#include "../dispatch.h"
#include "bench.h"

typedef int64_t (*fma_loop_f32)(float *, int64_t);

/* 16 independent chains of acc = acc * m + a: it converges to a / (1 - m) = 1 and never
 * overflows or goes subnormal however many rounds run. */
#define PORTABLE_CHAINS 16
int64_t cc_fma_loop_f32_scalar(float *sink, int64_t rounds)
{
    float acc[PORTABLE_CHAINS];
    const float m = 0.999f, a = 0.001f;
    for (int j = 0; j < PORTABLE_CHAINS; j++)
        acc[j] = (float)j / PORTABLE_CHAINS;
    for (int64_t i = 0; i < rounds; i++)
        for (int j = 0; j < PORTABLE_CHAINS; j++)
            acc[j] = acc[j] * m + a;
    float total = 0.0f;
    for (int j = 0; j < PORTABLE_CHAINS; j++)
        total += acc[j];
    *sink = total;
    return rounds * PORTABLE_CHAINS * 2;
}

static fma_loop_f32 loop_for_active_isa(void)
{
    switch (cc_active_isa()) {
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512: return cc_fma_loop_f32_avx512;
#endif
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2: return cc_fma_loop_f32_avx2;
#endif
    default: return cc_fma_loop_f32_scalar;
    }
}

int64_t cc_fma_peak_f32(float *sink, int64_t rounds, int n_threads)
{
    fma_loop_f32 loop = loop_for_active_isa();
    int64_t total = 0;
#pragma omp parallel for schedule(static) num_threads(n_threads) reduction(+ : total)
    for (int t = 0; t < n_threads; t++)
        total += loop(sink + t, rounds);
    return total;
}
