# Pooling kernels (csrc/pool/). Arguments arrive checked and C-contiguous (convcore/functional/
# pool.py); shapes are (N, C, H, W) in and (N, C, P, Q) out; every call releases the GIL.
# The compact argmax is passed as its raw bytes (uint8 view) with its element width.

cdef extern from "convcore.h" nogil:
    ctypedef struct cc_pool_shape:
        int64_t planes, h, w, p, q
        int r, s, sh, sw, ph, pw

    void cc_max_pool2d_f32(float *y, void *argmax, int argmax_bytes, const float *x,
                           const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_f64(double *y, void *argmax, int argmax_bytes, const double *x,
                           const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_backward_f32(float *gx, const float *gy, const void *argmax,
                                    int argmax_bytes, const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_backward_f64(double *gx, const double *gy, const void *argmax,
                                    int argmax_bytes, const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_argmax_to_indices(int64_t *indices, const void *argmax, int argmax_bytes,
                                         const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_backward_indices_f32(float *gx, const float *gy, const int64_t *indices,
                                            const cc_pool_shape *g, int n_threads)
    void cc_max_pool2d_backward_indices_f64(double *gx, const double *gy,
                                            const int64_t *indices, const cc_pool_shape *g,
                                            int n_threads)
    void cc_avg_pool2d_f32(float *y, const float *x, int count_include_pad,
                           const cc_pool_shape *g, int n_threads)
    void cc_avg_pool2d_f64(double *y, const double *x, int count_include_pad,
                           const cc_pool_shape *g, int n_threads)
    void cc_avg_pool2d_backward_f32(float *gx, const float *gy, int count_include_pad,
                                    const cc_pool_shape *g, int n_threads)
    void cc_avg_pool2d_backward_f64(double *gx, const double *gy, int count_include_pad,
                                    const cc_pool_shape *g, int n_threads)
    void cc_global_avg_pool2d_f32(float *y, const float *x, int64_t planes, int64_t hw,
                                  int n_threads)
    void cc_global_avg_pool2d_f64(double *y, const double *x, int64_t planes, int64_t hw,
                                  int n_threads)
    void cc_global_avg_pool2d_backward_f32(float *gx, const float *gy, int64_t planes,
                                           int64_t hw, int n_threads)
    void cc_global_avg_pool2d_backward_f64(double *gx, const double *gy, int64_t planes,
                                           int64_t hw, int n_threads)


cdef cc_pool_shape pool_shape(Py_ssize_t *x_shape, Py_ssize_t *y_shape, tuple kernel,
                              tuple stride, tuple padding):
    cdef cc_pool_shape g
    g.planes = x_shape[0] * x_shape[1]
    g.h, g.w = x_shape[2], x_shape[3]
    g.p, g.q = y_shape[2], y_shape[3]
    g.r, g.s = kernel
    g.sh, g.sw = stride
    g.ph, g.pw = padding
    return g


cdef void *argmax_pointer(const unsigned char[::1] argmax_raw) noexcept:
    return <void *>&argmax_raw[0] if argmax_raw.shape[0] > 0 else NULL


def max_pool2d(floating[:, :, :, ::1] y, const unsigned char[::1] argmax_raw, int argmax_bytes,
               const floating[:, :, :, ::1] x, tuple kernel, tuple stride, tuple padding):
    """y = max over each window of x; argmax_raw (bytes of the compact argmax, or empty)."""
    cdef cc_pool_shape g = pool_shape(x.shape, y.shape, kernel, stride,
                                      padding)
    cdef void *argmax = argmax_pointer(argmax_raw)
    cdef int n_threads = effective_n_threads()
    if argmax == NULL:
        argmax_bytes = 0
    with nogil:
        if floating is float:
            cc_max_pool2d_f32(&y[0, 0, 0, 0], argmax, argmax_bytes, &x[0, 0, 0, 0], &g, n_threads)
        else:
            cc_max_pool2d_f64(&y[0, 0, 0, 0], argmax, argmax_bytes, &x[0, 0, 0, 0], &g, n_threads)


def max_pool2d_backward(floating[:, :, :, ::1] gx, const floating[:, :, :, ::1] gy,
                        const unsigned char[::1] argmax_raw, int argmax_bytes, tuple kernel,
                        tuple stride, tuple padding):
    """gx = gy scattered to each window's argmax (compact form)."""
    cdef cc_pool_shape g = pool_shape(gx.shape, gy.shape, kernel, stride,
                                      padding)
    cdef void *argmax = argmax_pointer(argmax_raw)
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_max_pool2d_backward_f32(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0], argmax, argmax_bytes,
                                       &g, n_threads)
        else:
            cc_max_pool2d_backward_f64(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0], argmax, argmax_bytes,
                                       &g, n_threads)


def max_pool2d_argmax_to_indices(int64_t[:, :, :, ::1] indices, const unsigned char[::1] argmax_raw,
                                 int argmax_bytes, tuple x_shape, tuple kernel, tuple stride,
                                 tuple padding):
    """torch-style flat indices h*W + w from the compact argmax."""
    cdef Py_ssize_t x_dims[4]
    x_dims[:] = [x_shape[0], x_shape[1], x_shape[2], x_shape[3]]
    cdef cc_pool_shape g = pool_shape(x_dims, indices.shape, kernel, stride, padding)
    cdef void *argmax = argmax_pointer(argmax_raw)
    cdef int n_threads = effective_n_threads()
    with nogil:
        cc_max_pool2d_argmax_to_indices(&indices[0, 0, 0, 0], argmax, argmax_bytes, &g,
                                        n_threads)


def max_pool2d_backward_indices(floating[:, :, :, ::1] gx, const floating[:, :, :, ::1] gy,
                                const int64_t[:, :, :, ::1] indices):
    """gx = gy scattered to torch-style flat indices (each in [0, H*W))."""
    cdef cc_pool_shape g = pool_shape(gx.shape, gy.shape, (1, 1), (1, 1),
                                      (0, 0))
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_max_pool2d_backward_indices_f32(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0],
                                               &indices[0, 0, 0, 0], &g, n_threads)
        else:
            cc_max_pool2d_backward_indices_f64(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0],
                                               &indices[0, 0, 0, 0], &g, n_threads)


def avg_pool2d(floating[:, :, :, ::1] y, const floating[:, :, :, ::1] x, bint count_include_pad,
               tuple kernel, tuple stride, tuple padding):
    """y = mean over each window of x (zero padding)."""
    cdef cc_pool_shape g = pool_shape(x.shape, y.shape, kernel, stride,
                                      padding)
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_avg_pool2d_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], count_include_pad, &g, n_threads)
        else:
            cc_avg_pool2d_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], count_include_pad, &g, n_threads)


def avg_pool2d_backward(floating[:, :, :, ::1] gx, const floating[:, :, :, ::1] gy,
                        bint count_include_pad, tuple kernel, tuple stride, tuple padding):
    """gx = each gy / divisor spread over its window."""
    cdef cc_pool_shape g = pool_shape(gx.shape, gy.shape, kernel, stride,
                                      padding)
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_avg_pool2d_backward_f32(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0], count_include_pad, &g,
                                       n_threads)
        else:
            cc_avg_pool2d_backward_f64(&gx[0, 0, 0, 0], &gy[0, 0, 0, 0], count_include_pad, &g,
                                       n_threads)


def global_avg_pool2d(floating[::1] y, const floating[:, ::1] x):
    """y[i] = mean of row i of x (planes, H*W)."""
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_global_avg_pool2d_f32(&y[0], &x[0, 0], x.shape[0], x.shape[1], n_threads)
        else:
            cc_global_avg_pool2d_f64(&y[0], &x[0, 0], x.shape[0], x.shape[1], n_threads)


def global_avg_pool2d_backward(floating[:, ::1] gx, const floating[::1] gy):
    """gx[i, :] = gy[i] / (H*W) for gx (planes, H*W)."""
    cdef int n_threads = effective_n_threads()
    with nogil:
        if floating is float:
            cc_global_avg_pool2d_backward_f32(&gx[0, 0], &gy[0], gx.shape[0], gx.shape[1],
                                              n_threads)
        else:
            cc_global_avg_pool2d_backward_f64(&gx[0, 0], &gy[0], gx.shape[0], gx.shape[1],
                                              n_threads)
