/* Pointwise kernels over NCHW tensors. */
#ifndef CONVCORE_POINTWISE_H
#define CONVCORE_POINTWISE_H

#include <stdint.h>

enum cc_activation { CC_ACT_NONE = 0, CC_ACT_RELU = 1 };

/* y[n, c, i] = act(x[n, c, i] + bias[c]) for a tensor viewed as (N, C, L); bias may be NULL.
 * y may be x (in place). Parallel over the N*C rows. */
void cc_bias_act_f32(float *y, const float *x, const float *bias, int activation,
                     int64_t n, int64_t c, int64_t l, int n_threads);
void cc_bias_act_f64(double *y, const double *x, const double *bias, int activation,
                     int64_t n, int64_t c, int64_t l, int n_threads);

/* One row of cc_bias_act_f32 for each ISA: y[i] = act(x[i] + bias). */
void cc_bias_act_row_f32_scalar(float *y, const float *x, float bias, int activation, int64_t l);
void cc_bias_act_row_f32_avx2(float *y, const float *x, float bias, int activation, int64_t l);
void cc_bias_act_row_f32_avx512(float *y, const float *x, float bias, int activation, int64_t l);

#endif
