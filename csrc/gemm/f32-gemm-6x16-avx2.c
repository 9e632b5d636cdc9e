/* float32 GEMM microkernel, AVX2 + FMA: 6 x 16 tile (12 accumulators + 2 B vectors + 1
 * broadcast = 15 of the 16 ymm registers). Loop structure: gemm-ukernel-simd.h. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f32_gemm_6x16__avx2
#define UK_T float
#define UK_V __m256
#define UK_VW 8
#define UK_MR 6
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define UK_LOAD(p) _mm256_loadu_ps(p)
#define UK_STORE(p, v) _mm256_storeu_ps((p), (v))
#define UK_BCAST(p) _mm256_broadcast_ss(p)
#define UK_FMA(a, b, acc) _mm256_fmadd_ps((a), (b), (acc))
#define UK_ADD(a, b) _mm256_add_ps((a), (b))
#define UK_MAX(a, b) _mm256_max_ps((a), (b))
#define UK_ZERO() _mm256_setzero_ps()

#include "gemm-ukernel-simd.h"
