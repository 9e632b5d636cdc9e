# Pointwise kernels (csrc/pointwise/).

cdef extern from "convcore.h" nogil:
    void cc_bias_act_f32(float *y, const float *x, const float *bias, int activation,
                         int64_t n, int64_t c, int64_t l, int n_threads)
    void cc_bias_act_f64(double *y, const double *x, const double *bias, int activation,
                         int64_t n, int64_t c, int64_t l, int n_threads)

ACTIVATIONS = {None: 0, "relu": 1}


def bias_act(floating[:, :, ::1] y, const floating[:, :, ::1] x, const floating[::1] bias,
             int activation):
    """y[n, c, :] = act(x[n, c, :] + bias[c]); an empty `bias` means no bias. y may be x."""
    cdef int n_threads = effective_n_threads()
    cdef const floating *bias_ptr = &bias[0] if bias.shape[0] > 0 else NULL
    with nogil:
        if floating is float:
            cc_bias_act_f32(&y[0, 0, 0], &x[0, 0, 0], bias_ptr, activation,
                            x.shape[0], x.shape[1], x.shape[2], n_threads)
        else:
            cc_bias_act_f64(&y[0, 0, 0], &x[0, 0, 0], bias_ptr, activation,
                            x.shape[0], x.shape[1], x.shape[2], n_threads)
