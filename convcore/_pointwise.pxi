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


# Activations, dropout, maxout (csrc/pointwise/activation*.c) and the softmax family, losses
# (csrc/pointwise/softmax.c). Arrays arrive checked, C-contiguous and flattened where the op is
# elementwise (convcore/functional/activations.py, losses.py).

cdef extern from "convcore.h" nogil:
    void cc_pointwise_f32(int op, float *out, const float *a, const float *b, double alpha,
                          int64_t n, int n_threads)
    void cc_pointwise_f64(int op, double *out, const double *a, const double *b, double alpha,
                          int64_t n, int n_threads)
    void cc_dropout_apply_f32(float *out, const float *a, const uint8_t *keep, double scale,
                              int64_t n, int n_threads)
    void cc_dropout_apply_f64(double *out, const double *a, const uint8_t *keep, double scale,
                              int64_t n, int n_threads)
    void cc_maxout_f32(float *y, const float *x, int64_t groups, int64_t k, int64_t l,
                       int n_threads)
    void cc_maxout_f64(double *y, const double *x, int64_t groups, int64_t k, int64_t l,
                       int n_threads)
    void cc_maxout_backward_f32(float *gx, const float *gy, const float *x, int64_t groups,
                                int64_t k, int64_t l, int n_threads)
    void cc_maxout_backward_f64(double *gx, const double *gy, const double *x, int64_t groups,
                                int64_t k, int64_t l, int n_threads)
    void cc_softmax_rows_f32(float *y, const float *x, int take_log, int64_t rows, int64_t cols,
                             int n_threads)
    void cc_softmax_rows_f64(double *y, const double *x, int take_log, int64_t rows,
                             int64_t cols, int n_threads)
    void cc_softmax_backward_rows_f32(float *gx, const float *gy, const float *y, int take_log,
                                      int64_t rows, int64_t cols, int n_threads)
    void cc_softmax_backward_rows_f64(double *gx, const double *gy, const double *y,
                                      int take_log, int64_t rows, int64_t cols, int n_threads)
    double cc_cross_entropy_f32(float *grad, const float *logits, const int64_t *target,
                                int64_t rows, int64_t cols, int n_threads)
    double cc_cross_entropy_f64(double *grad, const double *logits, const int64_t *target,
                                int64_t rows, int64_t cols, int n_threads)
    double cc_sum_sq_diff_f32(const float *a, const float *b, int64_t n, int n_threads)
    double cc_sum_sq_diff_f64(const double *a, const double *b, int64_t n, int n_threads)

# enum cc_pointwise_op (csrc/pointwise/pointwise.h)
POINTWISE_OPS = {name: i for i, name in enumerate((
    "relu", "leaky_relu", "elu", "sigmoid", "tanh",
    "relu_backward", "leaky_relu_backward", "elu_backward", "sigmoid_backward",
    "tanh_backward", "scaled_diff"))}


def pointwise(int op, floating[::1] out, const floating[::1] a, const floating[::1] b,
              double alpha):
    """out = op(a[, b]) elementwise (see enum cc_pointwise_op); an empty b means none."""
    cdef int n_threads = effective_n_threads()
    cdef const floating *b_ptr = &b[0] if b.shape[0] > 0 else NULL
    if out.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            cc_pointwise_f32(op, &out[0], &a[0], b_ptr, alpha, out.shape[0], n_threads)
        else:
            cc_pointwise_f64(op, &out[0], &a[0], b_ptr, alpha, out.shape[0], n_threads)


def dropout_apply(floating[::1] out, const floating[::1] a, const uint8_t[::1] keep,
                  double scale):
    """out = keep ? a * scale : 0."""
    cdef int n_threads = effective_n_threads()
    if out.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            cc_dropout_apply_f32(&out[0], &a[0], &keep[0], scale, out.shape[0], n_threads)
        else:
            cc_dropout_apply_f64(&out[0], &a[0], &keep[0], scale, out.shape[0], n_threads)


def maxout(floating[:, :, ::1] y, const floating[:, :, :, ::1] x):
    """y (groups..., L) = max over the pieces axis of x (N, G, pieces, L), first max wins."""
    cdef int n_threads = effective_n_threads()
    cdef int64_t groups = x.shape[0] * x.shape[1]
    if y.shape[0] * y.shape[1] * y.shape[2] == 0:
        return
    with nogil:
        if floating is float:
            cc_maxout_f32(&y[0, 0, 0], &x[0, 0, 0, 0], groups, x.shape[2], x.shape[3], n_threads)
        else:
            cc_maxout_f64(&y[0, 0, 0], &x[0, 0, 0, 0], groups, x.shape[2], x.shape[3], n_threads)


def maxout_backward(floating[:, :, :, ::1] gx, const floating[:, :, ::1] gy,
                    const floating[:, :, :, ::1] x):
    """gx (N, G, pieces, L): gy where the piece won (recomputed from x), else 0."""
    cdef int n_threads = effective_n_threads()
    cdef int64_t groups = x.shape[0] * x.shape[1]
    if gy.shape[0] * gy.shape[1] * gy.shape[2] == 0:
        return
    with nogil:
        if floating is float:
            cc_maxout_backward_f32(&gx[0, 0, 0, 0], &gy[0, 0, 0], &x[0, 0, 0, 0], groups,
                                   x.shape[2], x.shape[3], n_threads)
        else:
            cc_maxout_backward_f64(&gx[0, 0, 0, 0], &gy[0, 0, 0], &x[0, 0, 0, 0], groups,
                                   x.shape[2], x.shape[3], n_threads)


def softmax_rows(floating[:, ::1] y, const floating[:, ::1] x, bint take_log):
    """Row-wise softmax (or log-softmax) of x (rows, cols)."""
    cdef int n_threads = effective_n_threads()
    if x.shape[0] * x.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            cc_softmax_rows_f32(&y[0, 0], &x[0, 0], take_log, x.shape[0], x.shape[1], n_threads)
        else:
            cc_softmax_rows_f64(&y[0, 0], &x[0, 0], take_log, x.shape[0], x.shape[1], n_threads)


def softmax_backward_rows(floating[:, ::1] gx, const floating[:, ::1] gy,
                          const floating[:, ::1] y, bint take_log):
    """Row-wise softmax (or log-softmax) backward from the forward output y."""
    cdef int n_threads = effective_n_threads()
    if y.shape[0] * y.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            cc_softmax_backward_rows_f32(&gx[0, 0], &gy[0, 0], &y[0, 0], take_log, y.shape[0],
                                         y.shape[1], n_threads)
        else:
            cc_softmax_backward_rows_f64(&gx[0, 0], &gy[0, 0], &y[0, 0], take_log, y.shape[0],
                                         y.shape[1], n_threads)


def cross_entropy(floating[:, ::1] grad, const floating[:, ::1] logits,
                  const int64_t[::1] target):
    """Mean cross-entropy; fills grad (rows, cols) unless it is empty."""
    cdef int n_threads = effective_n_threads()
    cdef floating *grad_ptr = &grad[0, 0] if grad.shape[0] > 0 else NULL
    cdef double loss
    with nogil:
        if floating is float:
            loss = cc_cross_entropy_f32(grad_ptr, &logits[0, 0], &target[0], logits.shape[0],
                                        logits.shape[1], n_threads)
        else:
            loss = cc_cross_entropy_f64(grad_ptr, &logits[0, 0], &target[0], logits.shape[0],
                                        logits.shape[1], n_threads)
    return loss


def sum_sq_diff(const floating[::1] a, const floating[::1] b):
    """sum((a - b)^2) accumulated in double, in a fixed order."""
    cdef int n_threads = effective_n_threads()
    cdef double total
    with nogil:
        if floating is float:
            total = cc_sum_sq_diff_f32(&a[0], &b[0], a.shape[0], n_threads)
        else:
            total = cc_sum_sq_diff_f64(&a[0], &b[0], a.shape[0], n_threads)
    return total
