/* float32 dot microkernel (gemm-dot-simd.h), AVX-512F: 8 x 3 tile, 24 accumulators + 3 B + 1 A
 * of the 32 zmm registers; only these macro lines are AVX-512 specific. */
#include <immintrin.h>

#include "gemm.h"

#define UK_FN cc_f32_dot_8x3__avx512
#define UK_T float
#define UK_V __m512
#define UK_VW 16
#define UK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define UK_LOAD(p) _mm512_loadu_ps(p)
#define UK_FMA(a, b, acc) _mm512_fmadd_ps((a), (b), (acc))
#define UK_ZERO() _mm512_setzero_ps()
#define UK_HSUM(v) _mm512_reduce_add_ps(v)

#include "gemm-dot-simd.h"
