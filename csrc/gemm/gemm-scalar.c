/* Portable GEMM and dot microkernels (see gemm.h): always compiled, the fallback of every ISA and the
 * float64 kernel where no SIMD one exists. Plain C on a 4 x 8 tile held in a local array the
 * compiler keeps in registers (SSE2 vectorises the j loops at -O3). */
#include "gemm.h"

#define SCALAR_MR 4
#define SCALAR_NR 8

#define DEFINE_SCALAR_UKERNEL(name, T)                                                           \
    void name(int64_t kc, const T *restrict a, const T *restrict b, T *restrict c, int64_t ldc,  \
              const T *restrict bias, int flags)                                                 \
    {                                                                                            \
        T acc[SCALAR_MR][SCALAR_NR] = {{0}};                                                     \
        for (int64_t k = 0; k < kc; k++) {                                                       \
            for (int i = 0; i < SCALAR_MR; i++)                                                  \
                for (int j = 0; j < SCALAR_NR; j++)                                              \
                    acc[i][j] += a[k * SCALAR_MR + i] * b[k * SCALAR_NR + j];                    \
        }                                                                                        \
        for (int i = 0; i < SCALAR_MR; i++) {                                                    \
            T *restrict c_row = c + i * ldc;                                                     \
            for (int j = 0; j < SCALAR_NR; j++) {                                                \
                T v = acc[i][j];                                                                 \
                if (flags & CC_GEMM_ACCUMULATE)                                                  \
                    v = c_row[j] + v;                                                            \
                if (bias)                                                                        \
                    v = v + bias[i];                                                             \
                if ((flags & CC_GEMM_RELU) && v < 0) /* NaN stays NaN, as torch */               \
                    v = 0;                                                                       \
                c_row[j] = v;                                                                    \
            }                                                                                    \
        }                                                                                        \
    }

#define DEFINE_SCALAR_DOT(name, T)                                                               \
    void name(int64_t kc, const T *restrict a, int64_t lda, const T *restrict b, int64_t ldb,    \
              T *restrict c, int64_t ldc, int64_t rows, int64_t cols, int flags)                 \
    {                                                                                            \
        for (int64_t i = 0; i < rows; i++)                                                       \
            for (int64_t j = 0; j < cols; j++) {                                                 \
                T sum = 0;                                                                       \
                for (int64_t t = 0; t < kc; t++)                                                 \
                    sum += a[i * lda + t] * b[j * ldb + t];                                      \
                c[i * ldc + j] = (flags & CC_GEMM_ACCUMULATE) ? c[i * ldc + j] + sum : sum;      \
            }                                                                                    \
    }

DEFINE_SCALAR_UKERNEL(cc_f32_gemm_4x8__scalar, float)
DEFINE_SCALAR_UKERNEL(cc_f64_gemm_4x8__scalar, double)
DEFINE_SCALAR_DOT(cc_f32_dot_4x3__scalar, float)
DEFINE_SCALAR_DOT(cc_f64_dot_4x3__scalar, double)
