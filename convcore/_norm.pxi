# Batch norm kernels (csrc/norm/). Tensors are viewed as (N, C, L) with L = H*W (2d) or 1 (1d);
# arguments arrive checked and C-contiguous (convcore/functional/norm.py). Empty running-stat
# arrays mean "none"; an empty y in the backward means "no fused ReLU".

cdef extern from "convcore.h" nogil:
    void cc_batch_norm_forward_f32(float *y, float *save_mean, float *save_invstd,
                                   float *running_mean, float *running_var, const float *x,
                                   const float *gamma, const float *beta, int training,
                                   double momentum, double eps, int relu, int64_t n, int64_t c,
                                   int64_t l, int n_threads)
    void cc_batch_norm_forward_f64(double *y, double *save_mean, double *save_invstd,
                                   double *running_mean, double *running_var, const double *x,
                                   const double *gamma, const double *beta, int training,
                                   double momentum, double eps, int relu, int64_t n, int64_t c,
                                   int64_t l, int n_threads)
    void cc_batch_norm_backward_f32(float *gx, float *ggamma, float *gbeta, const float *gy,
                                    const float *x, const float *y, const float *gamma,
                                    const float *save_mean, const float *save_invstd,
                                    int training, int64_t n, int64_t c, int64_t l, int n_threads)
    void cc_batch_norm_backward_f64(double *gx, double *ggamma, double *gbeta, const double *gy,
                                    const double *x, const double *y, const double *gamma,
                                    const double *save_mean, const double *save_invstd,
                                    int training, int64_t n, int64_t c, int64_t l, int n_threads)


def batch_norm_forward(floating[:, :, ::1] y, floating[::1] save_mean, floating[::1] save_invstd,
                       const floating[::1] running_mean, const floating[::1] running_var,
                       const floating[:, :, ::1] x, const floating[::1] gamma,
                       const floating[::1] beta, bint training, double momentum, double eps,
                       bint relu):
    """y = batch norm of x (N, C, L); fills save_mean/save_invstd (C,), updates running stats.

    The running stats are declared const so that eval mode (which only reads them) accepts
    read-only arrays; training mode writes them, and the caller has checked they are writable.
    """
    cdef int n_threads = effective_n_threads()
    cdef floating *rm = <floating *>&running_mean[0] if running_mean.shape[0] > 0 else NULL
    cdef floating *rv = <floating *>&running_var[0] if running_var.shape[0] > 0 else NULL
    with nogil:
        if floating is float:
            cc_batch_norm_forward_f32(&y[0, 0, 0], &save_mean[0], &save_invstd[0], rm, rv,
                                      &x[0, 0, 0], &gamma[0], &beta[0], training, momentum, eps,
                                      relu, x.shape[0], x.shape[1], x.shape[2], n_threads)
        else:
            cc_batch_norm_forward_f64(&y[0, 0, 0], &save_mean[0], &save_invstd[0], rm, rv,
                                      &x[0, 0, 0], &gamma[0], &beta[0], training, momentum, eps,
                                      relu, x.shape[0], x.shape[1], x.shape[2], n_threads)


def batch_norm_backward(floating[:, :, ::1] gx, floating[::1] ggamma, floating[::1] gbeta,
                        const floating[:, :, ::1] gy, const floating[:, :, ::1] x,
                        const floating[:, :, ::1] y, const floating[::1] gamma,
                        const floating[::1] save_mean, const floating[::1] save_invstd,
                        bint training):
    """(gx, ggamma, gbeta) of batch norm; y is the forward output when a ReLU was fused."""
    cdef int n_threads = effective_n_threads()
    cdef const floating *y_ptr = &y[0, 0, 0] if y.shape[0] > 0 else NULL
    with nogil:
        if floating is float:
            cc_batch_norm_backward_f32(&gx[0, 0, 0], &ggamma[0], &gbeta[0], &gy[0, 0, 0],
                                       &x[0, 0, 0], y_ptr, &gamma[0], &save_mean[0],
                                       &save_invstd[0], training, x.shape[0], x.shape[1],
                                       x.shape[2], n_threads)
        else:
            cc_batch_norm_backward_f64(&gx[0, 0, 0], &ggamma[0], &gbeta[0], &gy[0, 0, 0],
                                       &x[0, 0, 0], y_ptr, &gamma[0], &save_mean[0],
                                       &save_invstd[0], training, x.shape[0], x.shape[1],
                                       x.shape[2], n_threads)
