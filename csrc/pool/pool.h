/* Pooling kernels over NCHW planes: max (with a compact argmax), average, global average.
 *
 * Legend: N batch, C channels, H x W input plane, P x Q output plane, R x S window; a "plane" is
 * one (n, c) image, so every kernel works on planes = N*C independent H x W planes and runs
 * OpenMP over them. Windows start at (p*sh - ph, q*sw - pw) (padding is -inf for max, zero for
 * average); the caller guarantees ph <= R/2, pw <= S/2 and P, Q >= 1 (convcore/_checks.py).
 *
 * Max pooling's argmax is the window offset r*S + s of the first maximum (row-major, NaN counts
 * as the maximum) relative to the window's top-left corner, stored in argmax_bytes = 1 (uint8,
 * when R*S <= 256) or 4 (int32) bytes; argmax_bytes = 0 means "don't store it".
 */
#ifndef CONVCORE_POOL_H
#define CONVCORE_POOL_H

#include <stdint.h>

/* The geometry of one pooling call (the same for forward and backward). */
typedef struct {
    int64_t planes, h, w, p, q;
    int r, s, sh, sw, ph, pw;
} cc_pool_shape;

#define CC_POOL_DECLARE(TAG, REAL, ISA)                                                          \
    void cc_max_pool2d_##TAG##_##ISA(REAL *y, void *argmax, int argmax_bytes, const REAL *x,    \
                                     const cc_pool_shape *g, int n_threads);                    \
    void cc_max_pool2d_backward_##TAG##_##ISA(REAL *gx, const REAL *gy, const void *argmax,     \
                                              int argmax_bytes, const cc_pool_shape *g,         \
                                              int n_threads);                                   \
    void cc_avg_pool2d_##TAG##_##ISA(REAL *y, const REAL *x, int count_include_pad,            \
                                     const cc_pool_shape *g, int n_threads);                    \
    void cc_avg_pool2d_backward_##TAG##_##ISA(REAL *gx, const REAL *gy, int count_include_pad, \
                                              const cc_pool_shape *g, int n_threads);           \
    void cc_global_avg_pool2d_##TAG##_##ISA(REAL *y, const REAL *x, int64_t planes, int64_t hw, \
                                            int n_threads);

CC_POOL_DECLARE(f32, float, scalar)
CC_POOL_DECLARE(f64, double, scalar)
CC_POOL_DECLARE(f32, float, avx2)
CC_POOL_DECLARE(f64, double, avx2)
CC_POOL_DECLARE(f32, float, avx512)
CC_POOL_DECLARE(f64, double, avx512)

/* The entry points: pick the active ISA's kernel (same arguments as above). */
void cc_max_pool2d_f32(float *y, void *argmax, int argmax_bytes, const float *x,
                       const cc_pool_shape *g, int n_threads);
void cc_max_pool2d_f64(double *y, void *argmax, int argmax_bytes, const double *x,
                       const cc_pool_shape *g, int n_threads);
/* gx = scatter of gy to each window's argmax (overlapping windows accumulate). */
void cc_max_pool2d_backward_f32(float *gx, const float *gy, const void *argmax, int argmax_bytes,
                                const cc_pool_shape *g, int n_threads);
void cc_max_pool2d_backward_f64(double *gx, const double *gy, const void *argmax,
                                int argmax_bytes, const cc_pool_shape *g, int n_threads);
/* torch-style flat indices h*W + w into each plane, from the compact argmax. */
void cc_max_pool2d_argmax_to_indices(int64_t *indices, const void *argmax, int argmax_bytes,
                                     const cc_pool_shape *g, int n_threads);
/* gx = scatter of gy to torch-style flat indices (any valid index array). */
void cc_max_pool2d_backward_indices_f32(float *gx, const float *gy, const int64_t *indices,
                                        const cc_pool_shape *g, int n_threads);
void cc_max_pool2d_backward_indices_f64(double *gx, const double *gy, const int64_t *indices,
                                        const cc_pool_shape *g, int n_threads);

void cc_avg_pool2d_f32(float *y, const float *x, int count_include_pad, const cc_pool_shape *g,
                       int n_threads);
void cc_avg_pool2d_f64(double *y, const double *x, int count_include_pad,
                       const cc_pool_shape *g, int n_threads);
void cc_avg_pool2d_backward_f32(float *gx, const float *gy, int count_include_pad,
                                const cc_pool_shape *g, int n_threads);
void cc_avg_pool2d_backward_f64(double *gx, const double *gy, int count_include_pad,
                                const cc_pool_shape *g, int n_threads);

/* y[plane] = mean of the plane's hw values (accumulated in double). */
void cc_global_avg_pool2d_f32(float *y, const float *x, int64_t planes, int64_t hw,
                              int n_threads);
void cc_global_avg_pool2d_f64(double *y, const double *x, int64_t planes, int64_t hw,
                              int n_threads);
/* gx[plane, :] = gy[plane] / hw. */
void cc_global_avg_pool2d_backward_f32(float *gx, const float *gy, int64_t planes, int64_t hw,
                                       int n_threads);
void cc_global_avg_pool2d_backward_f64(double *gx, const double *gy, int64_t planes, int64_t hw,
                                       int n_threads);

#endif
