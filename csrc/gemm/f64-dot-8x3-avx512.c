/* float64 dot microkernel (gemm-dot-simd.h), AVX-512F: 8 x 3 tile of 8-double vectors; only
 * these macro lines are AVX-512 specific. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f64_dot_8x3__avx512
#define UK_T double
#define UK_V __m512d
#define UK_VW 8
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define UK_LOAD(p) _mm512_loadu_pd(p)
#define UK_FMA(a, b, acc) _mm512_fmadd_pd((a), (b), (acc))
#define UK_ZERO() _mm512_setzero_pd()
#define UK_HSUM(v) _mm512_reduce_add_pd(v)

#include "gemm-dot-simd.h"
