/* Pooling: the portable (scalar ISA) instantiation of pool_impl.h, the run-time dispatch to the
 * ISA-specific ones, and the kernels that need no SIMD variant (torch-style indices, their
 * backward, the global average pooling backward). Legend in pool.h. */
#include "../dispatch.h"

#define ISA scalar
#define REAL float
#define TAG f32
#include "pool_impl.h"
#define REAL double
#define TAG f64
#include "pool_impl.h"
#undef ISA


void cc_max_pool2d_f32(float *y, void *argmax, int argmax_bytes, const float *x,
                       const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_max_pool2d_f32, (y, argmax, argmax_bytes, x, g, n_threads))
}

void cc_max_pool2d_f64(double *y, void *argmax, int argmax_bytes, const double *x,
                       const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_max_pool2d_f64, (y, argmax, argmax_bytes, x, g, n_threads))
}

void cc_max_pool2d_backward_f32(float *gx, const float *gy, const void *argmax, int argmax_bytes,
                                const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_max_pool2d_backward_f32, (gx, gy, argmax, argmax_bytes, g, n_threads))
}

void cc_max_pool2d_backward_f64(double *gx, const double *gy, const void *argmax,
                                int argmax_bytes, const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_max_pool2d_backward_f64, (gx, gy, argmax, argmax_bytes, g, n_threads))
}

void cc_avg_pool2d_f32(float *y, const float *x, int count_include_pad, const cc_pool_shape *g,
                       int n_threads)
{
    CC_DISPATCH(cc_avg_pool2d_f32, (y, x, count_include_pad, g, n_threads))
}

void cc_avg_pool2d_f64(double *y, const double *x, int count_include_pad,
                       const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_avg_pool2d_f64, (y, x, count_include_pad, g, n_threads))
}

void cc_avg_pool2d_backward_f32(float *gx, const float *gy, int count_include_pad,
                                const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_avg_pool2d_backward_f32, (gx, gy, count_include_pad, g, n_threads))
}

void cc_avg_pool2d_backward_f64(double *gx, const double *gy, int count_include_pad,
                                const cc_pool_shape *g, int n_threads)
{
    CC_DISPATCH(cc_avg_pool2d_backward_f64, (gx, gy, count_include_pad, g, n_threads))
}

void cc_global_avg_pool2d_f32(float *y, const float *x, int64_t planes, int64_t hw,
                              int n_threads)
{
    CC_DISPATCH(cc_global_avg_pool2d_f32, (y, x, planes, hw, n_threads))
}

void cc_global_avg_pool2d_f64(double *y, const double *x, int64_t planes, int64_t hw,
                              int n_threads)
{
    CC_DISPATCH(cc_global_avg_pool2d_f64, (y, x, planes, hw, n_threads))
}

/* A fill per plane: the compiler's loop is a plain vector store stream already. */
#define GLOBAL_AVG_BACKWARD(TAG, REAL)                                                           \
    void cc_global_avg_pool2d_backward_##TAG(REAL *gx, const REAL *gy, int64_t planes,          \
                                             int64_t hw, int n_threads)                         \
    {                                                                                            \
        n_threads = pool_threads(n_threads, planes, planes * hw);                               \
        _Pragma("omp parallel for schedule(static) num_threads(n_threads)")                     \
        for (int64_t i = 0; i < planes; i++) {                                                   \
            const REAL share = (REAL)((double)gy[i] / (double)hw);                              \
            REAL *restrict plane = gx + i * hw;                                                  \
            for (int64_t j = 0; j < hw; j++)                                                     \
                plane[j] = share;                                                                \
        }                                                                                        \
    }
GLOBAL_AVG_BACKWARD(f32, float)
GLOBAL_AVG_BACKWARD(f64, double)

void cc_max_pool2d_argmax_to_indices(int64_t *indices, const void *argmax, int argmax_bytes,
                                     const cc_pool_shape *g, int n_threads)
{
    const int64_t pq = g->p * g->q;
    n_threads = pool_threads(n_threads, g->planes, g->planes * pq);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < g->planes; i++)
        for (int64_t op = 0; op < g->p; op++)
            for (int64_t oq = 0; oq < g->q; oq++) {
                const int64_t at = i * pq + op * g->q + oq;
                const int32_t k = load_argmax(argmax, argmax_bytes, at);
                const int32_t r = k / g->s, s = k - r * g->s;
                indices[at] = (op * g->sh - g->ph + r) * g->w + oq * g->sw - g->pw + s;
            }
}

#define MAX_BACKWARD_INDICES(TAG, REAL)                                                          \
    void cc_max_pool2d_backward_indices_##TAG(REAL *gx, const REAL *gy, const int64_t *indices, \
                                              const cc_pool_shape *g, int n_threads)            \
    {                                                                                            \
        const int64_t hw = g->h * g->w, pq = g->p * g->q;                                        \
        n_threads = pool_threads(n_threads, g->planes, g->planes * hw);                         \
        _Pragma("omp parallel for schedule(static) num_threads(n_threads)")                     \
        for (int64_t i = 0; i < g->planes; i++) {                                                \
            REAL *plane = gx + i * hw;                                                           \
            memset(plane, 0, (size_t)hw * sizeof(REAL));                                         \
            for (int64_t j = 0; j < pq; j++)                                                     \
                plane[indices[i * pq + j]] += gy[i * pq + j];                                    \
        }                                                                                        \
    }
MAX_BACKWARD_INDICES(f32, float)
MAX_BACKWARD_INDICES(f64, double)
