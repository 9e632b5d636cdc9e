/* float32 GEMM microkernel, AVX-512F: 12 x 32 tile (24 accumulators + 2 B vectors of the 32 zmm
 * registers; the broadcasts fold into the FMAs). Loop structure: gemm-ukernel-simd.h, the same
 * code the AVX2 kernel runs; only these macro lines are AVX-512 specific. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f32_gemm_12x32__avx512
#define UK_T float
#define UK_V __m512
#define UK_VW 16
#define UK_MR 12
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define UK_LOAD(p) _mm512_loadu_ps(p)
#define UK_STORE(p, v) _mm512_storeu_ps((p), (v))
#define UK_BCAST(p) _mm512_set1_ps(*(p))
#define UK_FMA(a, b, acc) _mm512_fmadd_ps((a), (b), (acc))
#define UK_ADD(a, b) _mm512_add_ps((a), (b))
#define UK_MAX(a, b) _mm512_max_ps((a), (b))
#define UK_ZERO() _mm512_setzero_ps()

#include "gemm-ukernel-simd.h"
