/* Batch norm: the portable (scalar ISA) instantiation of norm_impl.h and the run-time dispatch
 * to the ISA-specific ones. Legend and formulas in norm.h. */
#include "../dispatch.h"

#define ISA scalar
#define REAL float
#define TAG f32
#include "norm_impl.h"
#define REAL double
#define TAG f64
#include "norm_impl.h"
#undef ISA


#define FORWARD(TAG, REAL)                                                                       \
    void cc_batch_norm_forward_##TAG(REAL *y, REAL *save_mean, REAL *save_invstd,              \
                                     REAL *running_mean, REAL *running_var, const REAL *x,     \
                                     const REAL *gamma, const REAL *beta, int training,        \
                                     double momentum, double eps, int relu, int64_t n,         \
                                     int64_t c, int64_t l, int n_threads)                      \
    {                                                                                            \
        CC_DISPATCH(cc_batch_norm_forward_##TAG,                                                    \
                 (y, save_mean, save_invstd, running_mean, running_var, x, gamma, beta,         \
                  training, momentum, eps, relu, n, c, l, n_threads))                           \
    }
#define BACKWARD(TAG, REAL)                                                                      \
    void cc_batch_norm_backward_##TAG(REAL *gx, REAL *ggamma, REAL *gbeta, const REAL *gy,     \
                                      const REAL *x, const REAL *y, const REAL *gamma,         \
                                      const REAL *save_mean, const REAL *save_invstd,          \
                                      int training, int64_t n, int64_t c, int64_t l,           \
                                      int n_threads)                                            \
    {                                                                                            \
        CC_DISPATCH(cc_batch_norm_backward_##TAG, (gx, ggamma, gbeta, gy, x, y, gamma, save_mean,  \
                                                save_invstd, training, n, c, l, n_threads))     \
    }
FORWARD(f32, float)
FORWARD(f64, double)
BACKWARD(f32, float)
BACKWARD(f64, double)
