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



/* Elementwise ops of cc_pointwise_*: forward ones read a = x; backward ones read a = grad_y and
 * b = x (relu, leaky_relu, elu) or b = y (sigmoid, tanh); alpha = negative_slope / alpha;
 * CC_OP_SCALED_DIFF is alpha * (a - b) (the MSE gradient). */
enum cc_pointwise_op {
    CC_OP_RELU = 0, CC_OP_LEAKY_RELU, CC_OP_ELU, CC_OP_SIGMOID, CC_OP_TANH,
    CC_OP_RELU_BACKWARD, CC_OP_LEAKY_RELU_BACKWARD, CC_OP_ELU_BACKWARD, CC_OP_SIGMOID_BACKWARD,
    CC_OP_TANH_BACKWARD, CC_OP_SCALED_DIFF
};

#define CC_ACTIVATION_DECLARE(TAG, REAL, ISA)                                                    \
    void cc_pointwise_##TAG##_##ISA(int op, REAL *out, const REAL *a, const REAL *b,            \
                                    double alpha, int64_t n, int n_threads);                    \
    void cc_dropout_apply_##TAG##_##ISA(REAL *out, const REAL *a, const uint8_t *keep,          \
                                        double scale, int64_t n, int n_threads);                \
    void cc_maxout_##TAG##_##ISA(REAL *y, const REAL *x, int64_t groups, int64_t k, int64_t l,  \
                                 int n_threads);                                                 \
    void cc_maxout_backward_##TAG##_##ISA(REAL *gx, const REAL *gy, const REAL *x,              \
                                          int64_t groups, int64_t k, int64_t l, int n_threads);
#define CC_ACTIVATION_DECLARE_ALL(TAG, REAL)                                                     \
    CC_ACTIVATION_DECLARE(TAG, REAL, scalar)                                                     \
    CC_ACTIVATION_DECLARE(TAG, REAL, avx2)                                                       \
    CC_ACTIVATION_DECLARE(TAG, REAL, avx512)                                                     \
    /* the entry points: the active ISA's kernel */                                              \
    void cc_pointwise_##TAG(int op, REAL *out, const REAL *a, const REAL *b, double alpha,      \
                            int64_t n, int n_threads);                                           \
    void cc_dropout_apply_##TAG(REAL *out, const REAL *a, const uint8_t *keep, double scale,    \
                                int64_t n, int n_threads);                                       \
    void cc_maxout_##TAG(REAL *y, const REAL *x, int64_t groups, int64_t k, int64_t l,          \
                         int n_threads);                                                         \
    void cc_maxout_backward_##TAG(REAL *gx, const REAL *gy, const REAL *x, int64_t groups,      \
                                  int64_t k, int64_t l, int n_threads);
CC_ACTIVATION_DECLARE_ALL(f32, float)
CC_ACTIVATION_DECLARE_ALL(f64, double)

/* Row-wise softmax family over (rows, cols) C-contiguous arrays (softmax.c); sums in double. */
void cc_softmax_rows_f32(float *y, const float *x, int take_log, int64_t rows, int64_t cols,
                         int n_threads);
void cc_softmax_rows_f64(double *y, const double *x, int take_log, int64_t rows, int64_t cols,
                         int n_threads);
/* softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy). */
void cc_softmax_backward_rows_f32(float *gx, const float *gy, const float *y, int take_log,
                                  int64_t rows, int64_t cols, int n_threads);
void cc_softmax_backward_rows_f64(double *gx, const double *gy, const double *y, int take_log,
                                  int64_t rows, int64_t cols, int n_threads);
/* Mean cross-entropy of logits (rows, cols) against int64 targets; grad (may be NULL) gets
 * (softmax - onehot) / rows. Targets are trusted to be in [0, cols). */
double cc_cross_entropy_f32(float *grad, const float *logits, const int64_t *target,
                            int64_t rows, int64_t cols, int n_threads);
double cc_cross_entropy_f64(double *grad, const double *logits, const int64_t *target,
                            int64_t rows, int64_t cols, int n_threads);
/* sum((a - b)^2) in double, in a fixed order (fixed chunks, summed in order). */
double cc_sum_sq_diff_f32(const float *a, const float *b, int64_t n, int n_threads);
double cc_sum_sq_diff_f64(const double *a, const double *b, int64_t n, int n_threads);
#endif
