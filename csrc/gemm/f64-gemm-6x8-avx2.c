/* float64 GEMM microkernel, AVX2 + FMA: 6 x 8 tile (12 accumulators of 4 doubles).
 * Loop structure: gemm-ukernel-simd.h. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f64_gemm_6x8__avx2
#define UK_T double
#define UK_V __m256d
#define UK_VW 4
#define UK_MR 6
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define UK_LOAD(p) _mm256_loadu_pd(p)
#define UK_STORE(p, v) _mm256_storeu_pd((p), (v))
#define UK_BCAST(p) _mm256_broadcast_sd(p)
#define UK_FMA(a, b, acc) _mm256_fmadd_pd((a), (b), (acc))
#define UK_ADD(a, b) _mm256_add_pd((a), (b))
#define UK_MAX(a, b) _mm256_max_pd((a), (b))
#define UK_ZERO() _mm256_setzero_pd()

#include "gemm-ukernel-simd.h"
