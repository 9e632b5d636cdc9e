#define _POSIX_C_SOURCE 199309L
#ifndef CLOCK_ID
#define CLOCK_ID CLOCK_MONOTONIC
#endif
/* FMA peak, 1 and 2 threads: 12 independent chains of 8-float FMAs per thread.
 *   gcc -O2 -mavx2 -mfma -fopenmp dev/fma_peak.c -o /tmp/fma_peak    (wall clock)
 *   add -DCLOCK_ID=CLOCK_THREAD_CPUTIME_ID for thread CPU time */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void) { struct timespec t; clock_gettime(CLOCK_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

static float run(long iters)
{
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

int main(void)
{
    const long iters = 100000000;
    for (int threads = 1; threads <= 2; threads++) {
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now();
            float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
            sink += run(iters);
            double t = now() - t0;
            if (t < best) best = t;
            if (sink == 12345) printf(" ");
        }
        printf("%d thread(s): %.1f GF/s\n", threads, threads * iters * 12.0 * 16 / best / 1e9);
    }
    return 0;
}
