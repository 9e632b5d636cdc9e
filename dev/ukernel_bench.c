#define _POSIX_C_SOURCE 199309L
/* GF/s of the GEMM microkernels on cache-resident packed panels, in thread CPU time (robust to
 * other processes sharing the cores). Build from the repo root:
 *   gcc -O3 -std=c11 -mavx2 -mfma -Icsrc dev/ukernel_bench.c csrc/gemm/f32-gemm-6x16-avx2.c \
 *       csrc/gemm/f64-gemm-6x8-avx2.c -o /tmp/ukb */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../csrc/gemm/gemm.h"

static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

int main(void)
{
    const int kc = 256, mr = 6, nr = 16, tiles = 8;
    float *a = aligned_alloc(64, sizeof(float) * kc * mr * tiles);
    float *b = aligned_alloc(64, sizeof(float) * kc * nr);
    float *c = aligned_alloc(64, sizeof(float) * 64 * 1024);
    for (int i = 0; i < kc * mr * tiles; i++) a[i] = 1e-3f * (i % 7);
    for (int i = 0; i < kc * nr; i++) b[i] = 1e-3f * (i % 5);
    for (int i = 0; i < 64 * 1024; i++) c[i] = 0;
    double best = 1e9;
    const long reps = 200000;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_now();
        for (long i = 0; i < reps; i++)
            cc_f32_gemm_6x16__avx2(kc, a + (i % tiles) * kc * mr, b, c + (i % tiles) * mr * 256, 256, NULL, CC_GEMM_ACCUMULATE);
        double t = cpu_now() - t0;
        if (t < best) best = t;
    }
    printf("f32 6x16 avx2: %.1f GF/s\n", 2.0 * kc * mr * nr * reps / best / 1e9);
    double *ad = aligned_alloc(64, sizeof(double) * kc * mr * tiles), *bd = aligned_alloc(64, sizeof(double) * kc * 8), *cd = aligned_alloc(64, sizeof(double) * 64 * 1024);
    for (int i = 0; i < kc * mr * tiles; i++) ad[i] = 1e-3 * (i % 7);
    for (int i = 0; i < kc * 8; i++) bd[i] = 1e-3 * (i % 5);
    for (int i = 0; i < 64 * 1024; i++) cd[i] = 0;
    best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_now();
        for (long i = 0; i < reps; i++)
            cc_f64_gemm_6x8__avx2(kc, ad + (i % tiles) * kc * mr, bd, cd + (i % tiles) * mr * 256, 256, NULL, CC_GEMM_ACCUMULATE);
        double t = cpu_now() - t0;
        if (t < best) best = t;
    }
    printf("f64 6x8 avx2: %.1f GF/s\n", 2.0 * kc * mr * 8 * reps / best / 1e9);
    return 0;
}
