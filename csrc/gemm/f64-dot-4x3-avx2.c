/* float64 dot microkernel (gemm-dot-simd.h), AVX2 + FMA: 4 x 3 tile of 4-double vectors. */
#include <immintrin.h>

#include "gemm.h"

static inline double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

#define UK_FN cc_f64_dot_4x3__avx2
#define UK_T double
#define UK_V __m256d
#define UK_VW 4
#define UK_ROWS(X) X(0) X(1) X(2) X(3)
#define UK_LOAD(p) _mm256_loadu_pd(p)
#define UK_FMA(a, b, acc) _mm256_fmadd_pd((a), (b), (acc))
#define UK_ZERO() _mm256_setzero_pd()
#define UK_HSUM(v) hsum_pd(v)

#include "gemm-dot-simd.h"
