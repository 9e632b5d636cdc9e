/* The SIMD GEMM microkernel, written once for every vector ISA (see gemm.h for the contract).
 *
 * An ISA file defines the macros below and includes this file; the loop structure, the
 * epilogue and the register allocation are the same code on AVX2 and AVX-512, so what the
 * tests prove on one ISA holds for the other up to the macro definitions.
 *   UK_FN            function name            UK_T      element type (float / double)
 *   UK_V             vector type              UK_VW     elements per vector
 *   UK_MR            rows of the tile         UK_ROWS(X) expands X(0) X(1) ... X(UK_MR - 1)
 *   UK_LOAD(p)  UK_STORE(p, v)  UK_BCAST(p)  UK_FMA(a, b, acc) = a * b + acc
 *   UK_ADD(a, b)  UK_MAX(a, b) (returns b when either is NaN)  UK_ZERO()
 * The tile is UK_MR x (2 * UK_VW): two vectors per row along the pixels. The accumulators are
 * named variables acc<row>_<half> (an array of vectors spills to the stack: 50 vs 117 GF/s).
 */
#define UK_NR (2 * UK_VW)

void UK_FN(int64_t kc, const UK_T *restrict a, const UK_T *restrict b, UK_T *restrict c,
           int64_t ldc, const UK_T *restrict bias, int flags)
{
    /* The C tile is read (accumulate) or written after the loop: fetch its lines meanwhile. */
#define UK_PREFETCH_ROW(i)                                                                       \
    _mm_prefetch((const char *)(c + (i) * ldc), _MM_HINT_T0);                                    \
    _mm_prefetch((const char *)(c + (i) * ldc + UK_NR - 1), _MM_HINT_T0);
    UK_ROWS(UK_PREFETCH_ROW)
#undef UK_PREFETCH_ROW

#define UK_DECLARE(i) UK_V acc##i##_0 = UK_ZERO(), acc##i##_1 = UK_ZERO();
    UK_ROWS(UK_DECLARE)
#undef UK_DECLARE

#define UK_STEP(i)                                                                               \
    {                                                                                            \
        const UK_V a_i = UK_BCAST(a + (i));                                                      \
        acc##i##_0 = UK_FMA(a_i, b_0, acc##i##_0);                                               \
        acc##i##_1 = UK_FMA(a_i, b_1, acc##i##_1);                                               \
    }
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        const UK_V b_0 = UK_LOAD(b);
        const UK_V b_1 = UK_LOAD(b + UK_VW);
        UK_ROWS(UK_STEP)
        a += UK_MR;
        b += UK_NR;
    }
#undef UK_STEP

    if (flags & CC_GEMM_ACCUMULATE) {
#define UK_ACCUMULATE(i)                                                                         \
    acc##i##_0 = UK_ADD(UK_LOAD(c + (i) * ldc), acc##i##_0);                                     \
    acc##i##_1 = UK_ADD(UK_LOAD(c + (i) * ldc + UK_VW), acc##i##_1);
        UK_ROWS(UK_ACCUMULATE)
#undef UK_ACCUMULATE
    }
    if (bias) {
#define UK_ADD_BIAS(i)                                                                           \
    {                                                                                            \
        const UK_V bias_i = UK_BCAST(bias + (i));                                                \
        acc##i##_0 = UK_ADD(acc##i##_0, bias_i);                                                 \
        acc##i##_1 = UK_ADD(acc##i##_1, bias_i);                                                 \
    }
        UK_ROWS(UK_ADD_BIAS)
#undef UK_ADD_BIAS
    }
    if (flags & CC_GEMM_RELU) {
        const UK_V zero = UK_ZERO();
#define UK_RELU(i)                                                                               \
    acc##i##_0 = UK_MAX(zero, acc##i##_0);                                                       \
    acc##i##_1 = UK_MAX(zero, acc##i##_1);
        UK_ROWS(UK_RELU)
#undef UK_RELU
    }
#define UK_STORE_ROW(i)                                                                          \
    UK_STORE(c + (i) * ldc, acc##i##_0);                                                         \
    UK_STORE(c + (i) * ldc + UK_VW, acc##i##_1);
    UK_ROWS(UK_STORE_ROW)
#undef UK_STORE_ROW
}

#undef UK_NR
