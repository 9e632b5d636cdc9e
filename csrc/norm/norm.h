/* Batch normalisation over (N, C, L) tensors: L = H*W for batch_norm2d, L = 1 for batch_norm1d.
 *
 * Legend: N batch, C channels, L values per (n, c) plane; M = N*L values per channel.
 * Forward (training): per-channel mean and biased variance of x, accumulated in double from
 * x - shift (shift = the channel's first value, so a large common offset such as 1e4 cancels
 * exactly before squaring); running_mean/var updated in place (unbiased variance, torch's
 * momentum rule); y = (x - mean) * gamma * invstd + beta [then ReLU]. Eval: running stats.
 * Backward: per-channel sums of dY and dY * (x - mean) (double), then
 *   training: dX = gamma*invstd * (dY - sum(dY)/M - (x - mean) * invstd^2 * sum(dY (x-mean))/M)
 *   eval:     dX = gamma*invstd * dY;      dgamma = invstd * sum(dY (x - mean)), dbeta = sum(dY)
 * with dY masked by y > 0 when a ReLU was fused.
 * Parallel over the N*C planes (so over N too when C is small); per-plane partial sums are
 * reduced over n in a fixed order, so 1 and 2 threads give bit-identical results.
 */
#ifndef CONVCORE_NORM_H
#define CONVCORE_NORM_H

#include <stdint.h>

#define CC_NORM_DECLARE(TAG, REAL, ISA)                                                          \
    void cc_batch_norm_forward_##TAG##_##ISA(                                                    \
        REAL *y, REAL *save_mean, REAL *save_invstd, REAL *running_mean, REAL *running_var,     \
        const REAL *x, const REAL *gamma, const REAL *beta, int training, double momentum,      \
        double eps, int relu, int64_t n, int64_t c, int64_t l, int n_threads);                  \
    void cc_batch_norm_backward_##TAG##_##ISA(                                                   \
        REAL *gx, REAL *ggamma, REAL *gbeta, const REAL *gy, const REAL *x, const REAL *y,      \
        const REAL *gamma, const REAL *save_mean, const REAL *save_invstd, int training,        \
        int64_t n, int64_t c, int64_t l, int n_threads);

CC_NORM_DECLARE(f32, float, scalar)
CC_NORM_DECLARE(f64, double, scalar)
CC_NORM_DECLARE(f32, float, avx2)
CC_NORM_DECLARE(f64, double, avx2)
CC_NORM_DECLARE(f32, float, avx512)
CC_NORM_DECLARE(f64, double, avx512)

/* Entry points (active ISA). running_mean/running_var may be NULL (training without them);
 * in eval mode they are read, never written. y (backward) is NULL unless relu was fused. */
void cc_batch_norm_forward_f32(float *y, float *save_mean, float *save_invstd,
                               float *running_mean, float *running_var, const float *x,
                               const float *gamma, const float *beta, int training,
                               double momentum, double eps, int relu, int64_t n, int64_t c,
                               int64_t l, int n_threads);
void cc_batch_norm_forward_f64(double *y, double *save_mean, double *save_invstd,
                               double *running_mean, double *running_var, const double *x,
                               const double *gamma, const double *beta, int training,
                               double momentum, double eps, int relu, int64_t n, int64_t c,
                               int64_t l, int n_threads);
void cc_batch_norm_backward_f32(float *gx, float *ggamma, float *gbeta, const float *gy,
                                const float *x, const float *y, const float *gamma,
                                const float *save_mean, const float *save_invstd, int training,
                                int64_t n, int64_t c, int64_t l, int n_threads);
void cc_batch_norm_backward_f64(double *gx, double *ggamma, double *gbeta, const double *gy,
                                const double *x, const double *y, const double *gamma,
                                const double *save_mean, const double *save_invstd,
                                int training, int64_t n, int64_t c, int64_t l, int n_threads);

#endif
