/* float32 dot microkernel (gemm-dot-simd.h), AVX2 + FMA: 4 x 3 tile, 12 accumulators + 3 B
 * vectors + 1 A vector = the 16 ymm registers. */
#include <immintrin.h>

#include "gemm.h"

static inline float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define UK_FN cc_f32_dot_4x3__avx2
#define UK_T float
#define UK_V __m256
#define UK_VW 8
#define UK_ROWS(X) X(0) X(1) X(2) X(3)
#define UK_LOAD(p) _mm256_loadu_ps(p)
#define UK_FMA(a, b, acc) _mm256_fmadd_ps((a), (b), (acc))
#define UK_ZERO() _mm256_setzero_ps()
#define UK_HSUM(v) hsum_ps(v)

#include "gemm-dot-simd.h"
