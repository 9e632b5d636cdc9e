/* The SIMD "dot" GEMM microkernel (C += A . B^T with both operands contiguous along the depth),
 * written once for every vector ISA like gemm-ukernel-simd.h; used by the weight gradient,
 * where the depth (pixels) is the contiguous axis of both dY and cols(X), so no operand needs
 * a transposing pack.
 *   c[i * ldc + j] (+)= sum_t a[i * lda + t] * b[j * ldb + t],  i < UK_MR, j < 3, t < kc
 * kc is a multiple of UK_VW; rows beyond the valid `rows` x `cols` are computed from the
 * caller's zero padding and not stored. Vector partial sums are reduced in a fixed order.
 * Macros as gemm-ukernel-simd.h, plus UK_HSUM(v) (sum of the lanes of v, as UK_T).
 */
void UK_FN(int64_t kc, const UK_T *restrict a, int64_t lda, const UK_T *restrict b,
           int64_t ldb, UK_T *restrict c, int64_t ldc, int64_t rows, int64_t cols, int flags)
{
#define UK_DECLARE(i) UK_V acc##i##_0 = UK_ZERO(), acc##i##_1 = UK_ZERO(), acc##i##_2 = UK_ZERO();
    UK_ROWS(UK_DECLARE)
#undef UK_DECLARE
    const UK_T *restrict b0 = b, *restrict b1 = b + ldb, *restrict b2 = b + 2 * ldb;

#define UK_STEP(i)                                                                               \
    {                                                                                            \
        const UK_V a_i = UK_LOAD(a + (i) * lda + t);                                             \
        acc##i##_0 = UK_FMA(a_i, v_0, acc##i##_0);                                               \
        acc##i##_1 = UK_FMA(a_i, v_1, acc##i##_1);                                               \
        acc##i##_2 = UK_FMA(a_i, v_2, acc##i##_2);                                               \
    }
#pragma GCC unroll 2
    for (int64_t t = 0; t < kc; t += UK_VW) {
        const UK_V v_0 = UK_LOAD(b0 + t), v_1 = UK_LOAD(b1 + t), v_2 = UK_LOAD(b2 + t);
        UK_ROWS(UK_STEP)
    }
#undef UK_STEP

    const int accumulate = flags & CC_GEMM_ACCUMULATE;
#define UK_STORE_ONE(i, j)                                                                       \
    if ((j) < cols) {                                                                            \
        const UK_T sum = UK_HSUM(acc##i##_##j);                                                  \
        c[(i) * ldc + (j)] = accumulate ? c[(i) * ldc + (j)] + sum : sum;                        \
    }
#define UK_STORE_ROW(i)                                                                          \
    if ((i) < rows) {                                                                            \
        UK_STORE_ONE(i, 0)                                                                       \
        UK_STORE_ONE(i, 1)                                                                       \
        UK_STORE_ONE(i, 2)                                                                       \
    }
    UK_ROWS(UK_STORE_ROW)
#undef UK_STORE_ROW
#undef UK_STORE_ONE
}
