/* GEMM microkernels and their block sizes, one table per ISA (BLIS style).
 *
 * A microkernel computes one MR x NR tile of C = A . B over a depth of kc:
 *   a: packed MR-row panel of A, a[k * MR + i]      (row i, depth k)
 *   b: packed NR-column panel of B, b[k * NR + j]   (depth k, column j)
 *   c: row-major tile, row stride ldc (in elements), written with plain vector stores.
 * flags: CC_GEMM_ACCUMULATE adds the product to what c holds (later depth blocks);
 *        CC_GEMM_RELU clamps the result at 0 (NaN passes through, as torch's relu).
 * bias: NULL, or MR values added to the rows (the fused epilogue of the last depth block).
 * The caller pads edge tiles to a full MR x NR tile; kernels have no edge code path.
 */
#ifndef CONVCORE_GEMM_H
#define CONVCORE_GEMM_H

#include <stdint.h>

enum { CC_GEMM_ACCUMULATE = 1, CC_GEMM_RELU = 2 };
#define CC_GEMM_MAX_MR 16
#define CC_GEMM_MAX_NR 32
#define CC_GEMM_MAX_NC 512 /* the packers keep per-block tables of this size on the stack */

typedef void (*cc_gemm_ukernel_f32)(int64_t kc, const float *restrict a, const float *restrict b,
                                    float *restrict c, int64_t ldc, const float *restrict bias,
                                    int flags);
typedef void (*cc_gemm_ukernel_f64)(int64_t kc, const double *restrict a,
                                    const double *restrict b, double *restrict c, int64_t ldc,
                                    const double *restrict bias, int flags);

/* Dot microkernels (gemm-dot-simd.h): c[i * ldc + j] (+)= sum_t a[i * lda + t] * b[j * ldb + t]
 * for i < DOT_MR, j < 3, t < kc (kc a multiple of the depth granularity dot_kw; operands
 * zero-padded to full tiles); only the rows x cols valid part of the tile is stored. */
typedef void (*cc_dot_ukernel_f32)(int64_t kc, const float *restrict a, int64_t lda,
                                   const float *restrict b, int64_t ldb, float *restrict c,
                                   int64_t ldc, int64_t rows, int64_t cols, int flags);
typedef void (*cc_dot_ukernel_f64)(int64_t kc, const double *restrict a, int64_t lda,
                                   const double *restrict b, int64_t ldb, double *restrict c,
                                   int64_t ldc, int64_t rows, int64_t cols, int flags);
#define CC_DOT_NR 3

/* Block sizes: MR x NR microtile; KC depth per packed block (an NR x KC B panel stays in L1);
 * MC rows of A per block (MC x KC in L2); NC columns of B per packed block (KC x NC in L2).
 * MC is a multiple of MR, NC of NR. */
struct cc_gemm_config_f32 {
    int mr, nr, kc, mc, nc;
    cc_gemm_ukernel_f32 kernel;
    const char *name;
    int dot_mr, dot_kw; /* dot kernel: rows of its tile, depth granularity (vector width) */
    cc_dot_ukernel_f32 dot_kernel;
};
struct cc_gemm_config_f64 {
    int mr, nr, kc, mc, nc;
    cc_gemm_ukernel_f64 kernel;
    const char *name;
    int dot_mr, dot_kw;
    cc_dot_ukernel_f64 dot_kernel;
};

/* The table entry of the active ISA (cc_active_isa()). */
const struct cc_gemm_config_f32 *cc_gemm_config_f32(void);
const struct cc_gemm_config_f64 *cc_gemm_config_f64(void);

void cc_f32_gemm_4x8__scalar(int64_t kc, const float *restrict a, const float *restrict b,
                             float *restrict c, int64_t ldc, const float *restrict bias, int flags);
void cc_f64_gemm_4x8__scalar(int64_t kc, const double *restrict a, const double *restrict b,
                             double *restrict c, int64_t ldc, const double *restrict bias,
                             int flags);
void cc_f32_gemm_6x16__avx2(int64_t kc, const float *restrict a, const float *restrict b,
                            float *restrict c, int64_t ldc, const float *restrict bias, int flags);
void cc_f64_gemm_6x8__avx2(int64_t kc, const double *restrict a, const double *restrict b,
                           double *restrict c, int64_t ldc, const double *restrict bias,
                           int flags);
void cc_f32_gemm_12x32__avx512(int64_t kc, const float *restrict a, const float *restrict b,
                               float *restrict c, int64_t ldc, const float *restrict bias,
                               int flags);
void cc_f64_gemm_12x16__avx512(int64_t kc, const double *restrict a, const double *restrict b,
                               double *restrict c, int64_t ldc, const double *restrict bias,
                               int flags);


#define CC_DECLARE_DOT(name, T)                                                                  \
    void name(int64_t kc, const T *restrict a, int64_t lda, const T *restrict b, int64_t ldb,    \
              T *restrict c, int64_t ldc, int64_t rows, int64_t cols, int flags);
CC_DECLARE_DOT(cc_f32_dot_4x3__scalar, float)
CC_DECLARE_DOT(cc_f64_dot_4x3__scalar, double)
CC_DECLARE_DOT(cc_f32_dot_4x3__avx2, float)
CC_DECLARE_DOT(cc_f64_dot_4x3__avx2, double)
CC_DECLARE_DOT(cc_f32_dot_8x3__avx512, float)
CC_DECLARE_DOT(cc_f64_dot_8x3__avx512, double)
#undef CC_DECLARE_DOT

#endif
