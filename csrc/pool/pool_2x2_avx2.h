/* The 2x2 stride-2 max pooling rows with AVX2 intrinsics (float32): gcc's own vectorisation of
 * this loop shuffles a lot and was 3-8x slower once the uint8 argmax is stored. Included by
 * pool_impl.h when the file is compiled with -mavx2 (pool-avx2.c, and pool-avx512.c, which runs
 * the same 256-bit code: the pass is memory-bound, wider vectors gain nothing).
 *
 * 8 outputs per step: x0/x1 are the two input rows, each output q reads x0[2q], x0[2q+1],
 * x1[2q], x1[2q+1] (window offsets 0, 1, 2, 3). Same tie and NaN rules as the scalar loop:
 * strictly greater wins, the first NaN wins.
 */
#ifndef CONVCORE_POOL_2X2_AVX2_H
#define CONVCORE_POOL_2X2_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* v beats best: v > best, or v is the first NaN (v NaN and best not). */
static inline __m256 beats_avx2(__m256 v, __m256 best)
{
    __m256 greater = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    __m256 v_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    __m256 best_nan = _mm256_cmp_ps(best, best, _CMP_UNORD_Q);
    return _mm256_or_ps(greater, _mm256_andnot_ps(best_nan, v_nan));
}

/* even = v[0], v[2], ... odd = v[1], v[3], ... of the 16 floats a:b, in the order
 * (0 2 8 10 | 4 6 12 14) (lane-local shuffles); the caller restores the order at the end. */
static inline void split_pairs_avx2(const float *p, __m256 *even, __m256 *odd)
{
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    *even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    *odd = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
}

/* Outputs 0..7 from input rows x0, x1 (16 floats each). */
static inline void max_pool_2x2_step_f32_avx2(float *restrict y, uint8_t *restrict argmax,
                                              const float *restrict x0, const float *restrict x1)
{
    const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
    __m256 a, b, c, d;
    split_pairs_avx2(x0, &a, &b);
    split_pairs_avx2(x1, &c, &d);
    __m256 top = beats_avx2(b, a), bottom = beats_avx2(d, c);
    __m256 m0 = _mm256_blendv_ps(a, b, top), m1 = _mm256_blendv_ps(c, d, bottom);
    __m256 lower = beats_avx2(m1, m0);
    __m256 m = _mm256_blendv_ps(m0, m1, lower);
    /* back to output order: 64-bit lanes (0 2 1 3) */
    m = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), 0xD8));
    _mm256_storeu_ps(y, m);
    if (argmax) {
        __m256i i0 = _mm256_and_si256(_mm256_castps_si256(top), one);
        __m256i i1 = _mm256_add_epi32(two, _mm256_and_si256(_mm256_castps_si256(bottom), one));
        __m256i k = _mm256_castps_si256(
            _mm256_blendv_ps(_mm256_castsi256_ps(i0), _mm256_castsi256_ps(i1), lower));
        k = _mm256_permute4x64_epi64(k, 0xD8);
        __m128i k16 = _mm_packus_epi32(_mm256_castsi256_si128(k), _mm256_extracti128_si256(k, 1));
        _mm_storel_epi64((__m128i *)argmax, _mm_packus_epi16(k16, k16));
    }
}

/* A whole row of q outputs: 8 at a time, and the last q % 8 through zero-padded copies of the
 * inputs (the scalar loop's data-dependent branches mispredicted on every other value: a
 * 28-wide plane, 6 of 14 outputs scalar, ran 6x slower than a 32-wide one). */
static int64_t max_pool_2x2_row_f32_avx2(float *restrict y, uint8_t *restrict argmax,
                                         const float *restrict x0, const float *restrict x1,
                                         int64_t q)
{
    int64_t i = 0;
    for (; i + 8 <= q; i += 8)
        max_pool_2x2_step_f32_avx2(y + i, argmax ? argmax + i : NULL, x0 + 2 * i, x1 + 2 * i);
    if (i < q) {
        float row0[16] = {0}, row1[16] = {0}, out[8];
        uint8_t out_arg[8];
        const int64_t rest = q - i;
        memcpy(row0, x0 + 2 * i, (size_t)(2 * rest) * sizeof(float));
        memcpy(row1, x1 + 2 * i, (size_t)(2 * rest) * sizeof(float));
        max_pool_2x2_step_f32_avx2(out, argmax ? out_arg : NULL, row0, row1);
        memcpy(y + i, out, (size_t)rest * sizeof(float));
        if (argmax)
            memcpy(argmax + i, out_arg, (size_t)rest);
    }
    return q;
}

#endif
