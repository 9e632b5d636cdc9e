/* AVX2 float32 bodies of the batch norm sums (see norm_impl.h): gcc converts float -> double
 * one element at a time in the portable loop (vcvtss2sd, measured 3x slower than these).
 * Included by norm_impl.h when compiled with -mavx2 (norm-avx2.c and norm-avx512.c run the
 * same code). Lanes 0-3 / 4-7 of the portable loop's 8 double accumulators live in lo / hi, and
 * mul + add are kept separate (no FMA), so the sums are bit-identical to the portable ones.
 * Each returns how many values it consumed (a multiple of 8); the caller does the rest.
 */
#ifndef CONVCORE_NORM_AVX2_H
#define CONVCORE_NORM_AVX2_H

#include <immintrin.h>
#include <stdint.h>

static int64_t moments_f32_avx2(double *lane_sum, double *lane_sq, const float *x, int64_t l,
                                double shift)
{
    const __m256d vshift = _mm256_set1_pd(shift);
    __m256d s_lo = _mm256_loadu_pd(lane_sum), s_hi = _mm256_loadu_pd(lane_sum + 4);
    __m256d q_lo = _mm256_loadu_pd(lane_sq), q_hi = _mm256_loadu_pd(lane_sq + 4);
    int64_t i = 0;
    for (; i + 8 <= l; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d d_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vshift);
        __m256d d_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vshift);
        s_lo = _mm256_add_pd(s_lo, d_lo);
        s_hi = _mm256_add_pd(s_hi, d_hi);
        q_lo = _mm256_add_pd(q_lo, _mm256_mul_pd(d_lo, d_lo));
        q_hi = _mm256_add_pd(q_hi, _mm256_mul_pd(d_hi, d_hi));
    }
    _mm256_storeu_pd(lane_sum, s_lo);
    _mm256_storeu_pd(lane_sum + 4, s_hi);
    _mm256_storeu_pd(lane_sq, q_lo);
    _mm256_storeu_pd(lane_sq + 4, q_hi);
    return i;
}

static int64_t grad_moments_f32_avx2(double *lane_dy, double *lane_dy_xc, const float *gy,
                                     const float *x, const float *y, int64_t l, double mean)
{
    const __m256d vmean = _mm256_set1_pd(mean);
    const __m256 zero = _mm256_setzero_ps();
    __m256d s_lo = _mm256_loadu_pd(lane_dy), s_hi = _mm256_loadu_pd(lane_dy + 4);
    __m256d q_lo = _mm256_loadu_pd(lane_dy_xc), q_hi = _mm256_loadu_pd(lane_dy_xc + 4);
    int64_t i = 0;
    for (; i + 8 <= l; i += 8) {
        __m256 g = _mm256_loadu_ps(gy + i);
        if (y) /* fused ReLU: dY only where y > 0 */
            g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ));
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d g_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
        __m256d g_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
        __m256d d_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vmean);
        __m256d d_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vmean);
        s_lo = _mm256_add_pd(s_lo, g_lo);
        s_hi = _mm256_add_pd(s_hi, g_hi);
        q_lo = _mm256_add_pd(q_lo, _mm256_mul_pd(g_lo, d_lo));
        q_hi = _mm256_add_pd(q_hi, _mm256_mul_pd(g_hi, d_hi));
    }
    _mm256_storeu_pd(lane_dy, s_lo);
    _mm256_storeu_pd(lane_dy + 4, s_hi);
    _mm256_storeu_pd(lane_dy_xc, q_lo);
    _mm256_storeu_pd(lane_dy_xc + 4, q_hi);
    return i;
}

#endif
