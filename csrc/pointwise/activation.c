/* Activations, dropout, maxout: the portable (scalar ISA) instantiation of activation_impl.h
 * and the run-time dispatch to the ISA-specific ones. */
#include "../dispatch.h"

#define ISA scalar
#define REAL float
#define TAG f32
#define CC_REAL_IS_F32 1
#include "activation_impl.h"
#define REAL double
#define TAG f64
#include "activation_impl.h"
#undef ISA


#define ENTRY_POINTS(TAG, REAL)                                                                  \
    void cc_pointwise_##TAG(int op, REAL *out, const REAL *a, const REAL *b, double alpha,      \
                            int64_t n, int n_threads)                                            \
    {                                                                                            \
        CC_DISPATCH(cc_pointwise_##TAG, (op, out, a, b, alpha, n, n_threads))                      \
    }                                                                                            \
    void cc_dropout_apply_##TAG(REAL *out, const REAL *a, const uint8_t *keep, double scale,    \
                                int64_t n, int n_threads)                                        \
    {                                                                                            \
        CC_DISPATCH(cc_dropout_apply_##TAG, (out, a, keep, scale, n, n_threads))                   \
    }                                                                                            \
    void cc_maxout_##TAG(REAL *y, const REAL *x, int64_t groups, int64_t k, int64_t l,          \
                         int n_threads)                                                          \
    {                                                                                            \
        CC_DISPATCH(cc_maxout_##TAG, (y, x, groups, k, l, n_threads))                              \
    }                                                                                            \
    void cc_maxout_backward_##TAG(REAL *gx, const REAL *gy, const REAL *x, int64_t groups,      \
                                  int64_t k, int64_t l, int n_threads)                          \
    {                                                                                            \
        CC_DISPATCH(cc_maxout_backward_##TAG, (gx, gy, x, groups, k, l, n_threads))                \
    }
ENTRY_POINTS(f32, float)
ENTRY_POINTS(f64, double)
