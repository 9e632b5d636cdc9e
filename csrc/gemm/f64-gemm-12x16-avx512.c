/* float64 GEMM microkernel, AVX-512F: 12 x 16 tile (24 accumulators of 8 doubles).
 * Loop structure: gemm-ukernel-simd.h; only these macro lines are AVX-512 specific. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f64_gemm_12x16__avx512
#define UK_T double
#define UK_V __m512d
#define UK_VW 8
#define UK_MR 12
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define UK_LOAD(p) _mm512_loadu_pd(p)
#define UK_STORE(p, v) _mm512_storeu_pd((p), (v))
#define UK_BCAST(p) _mm512_set1_pd(*(p))
#define UK_FMA(a, b, acc) _mm512_fmadd_pd((a), (b), (acc))
#define UK_ADD(a, b) _mm512_add_pd((a), (b))
#define UK_MAX(a, b) _mm512_max_pd((a), (b))
#define UK_ZERO() _mm512_setzero_pd()

#include "gemm-ukernel-simd.h"
