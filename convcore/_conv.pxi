# Convolution kernels (csrc/conv/, csrc/gemm/): thin wrappers, arguments checked by the caller
# (convcore/functional/conv.py); each releases the GIL for the whole C call.

cdef extern from "convcore.h" nogil:
    struct cc_conv_geometry:
        int64_t n, c, k, h, w, p, q, r, s
        int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups
    int cc_conv2d_forward_f32(float *y, const float *x, const float *weight, const float *bias,
                              int activation, const cc_conv_geometry *geo, int n_threads)
    int cc_conv2d_forward_f64(double *y, const double *x, const double *weight,
                              const double *bias, int activation, const cc_conv_geometry *geo,
                              int n_threads)
    int cc_conv2d_backward_f32(float *grad_x, float *grad_weight, float *grad_bias,
                               const float *grad_y, const float *x, const float *weight,
                               const cc_conv_geometry *geo, int n_threads)
    int cc_conv2d_backward_f64(double *grad_x, double *grad_weight, double *grad_bias,
                               const double *grad_y, const double *x, const double *weight,
                               const cc_conv_geometry *geo, int n_threads)
    const char *cc_conv2d_kernel_name(int is_f64)
    void cc_conv2d_block_sizes(int is_f64, int64_t sizes[5])
    void cc_conv2d_set_winograd(int mode)
    int cc_conv2d_get_winograd()
    int cc_conv2d_uses_winograd(const cc_conv_geometry *geo, int is_f64)


cdef cc_conv_geometry conv_geometry(Py_ssize_t *x_shape, Py_ssize_t *w_shape,
                                    Py_ssize_t *y_shape, stride, padding, dilation, int groups):
    cdef cc_conv_geometry geo
    geo.n, geo.c, geo.h, geo.w = x_shape[0], x_shape[1], x_shape[2], x_shape[3]
    geo.k, geo.r, geo.s = w_shape[0], w_shape[2], w_shape[3]
    geo.p, geo.q = y_shape[2], y_shape[3]
    geo.stride_h, geo.stride_w = stride
    geo.pad_h, geo.pad_w = padding
    geo.dil_h, geo.dil_w = dilation
    geo.groups = groups
    return geo


cdef Py_ssize_t n_elements(Py_ssize_t *shape):
    return shape[0] * shape[1] * shape[2] * shape[3]


def conv2d_forward(floating[:, :, :, ::1] y, const floating[:, :, :, ::1] x,
                   const floating[:, :, :, ::1] weight, const floating[::1] bias,
                   stride, padding, dilation, int groups, int activation):
    """y = act(conv2d(x, weight) + bias); bias None for none; pairs for the hyper-parameters.

    y (N, K, P, Q), x (N, C, H, W), weight (K, C/groups, R, S), bias (K,); C-contiguous.
    """
    cdef cc_conv_geometry geo = conv_geometry(x.shape, weight.shape, y.shape, stride,
                                              padding, dilation, groups)
    cdef int n_threads = effective_n_threads()
    cdef const floating *bias_ptr = NULL
    cdef int status
    if bias is not None:
        bias_ptr = &bias[0]
    if n_elements(y.shape) == 0:
        return
    with nogil:
        if floating is float:
            status = cc_conv2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], &weight[0, 0, 0, 0],
                                           bias_ptr, activation, &geo, n_threads)
        else:
            status = cc_conv2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], &weight[0, 0, 0, 0],
                                           bias_ptr, activation, &geo, n_threads)
    if status != 0:
        raise MemoryError("conv2d: could not allocate the kernel's scratch space")


def conv2d_backward(floating[:, :, :, ::1] grad_x, floating[:, :, :, ::1] grad_weight,
                    floating[::1] grad_bias, const floating[:, :, :, ::1] grad_y,
                    const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] weight,
                    stride, padding, dilation, int groups):
    """Fill the gradients that are not None (overwritten): grad_x like x, grad_weight like
    weight, grad_bias (K,), from grad_y (N, K, P, Q). x and weight as in the forward."""
    cdef cc_conv_geometry geo = conv_geometry(x.shape, weight.shape, grad_y.shape, stride,
                                              padding, dilation, groups)
    cdef int n_threads = effective_n_threads()
    cdef floating *gx = NULL
    cdef floating *gw = NULL
    cdef floating *gb = NULL
    cdef int status
    if grad_x is not None and n_elements(grad_x.shape) > 0:
        gx = &grad_x[0, 0, 0, 0]
    if grad_weight is not None and n_elements(grad_weight.shape) > 0:
        gw = &grad_weight[0, 0, 0, 0]
    if grad_bias is not None and grad_bias.shape[0] > 0:
        gb = &grad_bias[0]
    # An empty grad_y (N == 0) has no first element: the C side only reads it when N > 0.
    cdef const floating *gy_ptr = NULL
    cdef const floating *x_ptr = NULL
    if n_elements(grad_y.shape) > 0:
        gy_ptr = &grad_y[0, 0, 0, 0]
        x_ptr = &x[0, 0, 0, 0]
    with nogil:
        if floating is float:
            status = cc_conv2d_backward_f32(gx, gw, gb, gy_ptr, x_ptr, &weight[0, 0, 0, 0],
                                            &geo, n_threads)
        else:
            status = cc_conv2d_backward_f64(gx, gw, gb, gy_ptr, x_ptr, &weight[0, 0, 0, 0],
                                            &geo, n_threads)
    if status != 0:
        raise MemoryError("conv2d_backward: could not allocate the kernel's scratch space")


def conv2d_kernel_name(bint is_f64=False):
    """The GEMM microkernel the active ISA uses (e.g. "f32-gemm-6x16-avx2")."""
    return cc_conv2d_kernel_name(is_f64).decode()


def conv2d_block_sizes(bint is_f64=False):
    """Block sizes of the active ISA's GEMM: dict with mr, nr, kc, mc, nc."""
    cdef int64_t sizes[5]
    cc_conv2d_block_sizes(is_f64, sizes)
    return dict(zip(("mr", "nr", "kc", "mc", "nc"), [sizes[i] for i in range(5)]))


_WINOGRAD_MODES = ("never", "auto", "always")


def set_conv_winograd(mode):
    """Forward algorithm of 3x3 stride-1 float32 convs: "never" (direct), "auto", "always"."""
    cc_conv2d_set_winograd(_WINOGRAD_MODES.index(mode))


def get_conv_winograd():
    return _WINOGRAD_MODES[cc_conv2d_get_winograd()]


def conv2d_algorithm(x_shape, w_shape, y_shape, stride, padding, dilation, int groups,
                     bint is_f64=False, part="forward"):
    """"winograd", "small_c" (the direct kernel for few input channels) or "direct" (the
    implicit GEMM): what runs for these shapes (tests, bench); part: "forward", "data_grad" or
    "weight_grad"."""
    cdef Py_ssize_t xs[4]
    cdef Py_ssize_t ws[4]
    cdef Py_ssize_t ys[4]
    for i in range(4):
        xs[i], ws[i], ys[i] = x_shape[i], w_shape[i], y_shape[i]
    cdef cc_conv_geometry geo = conv_geometry(xs, ws, ys, stride, padding, dilation, groups)
    cdef int mask = {"forward": 1, "weight_grad": 2, "data_grad": 4}[part]
    cdef int uses = cc_conv2d_uses_winograd(&geo, is_f64)
    if part == "forward" and uses & 8:
        return "small_c"
    return "winograd" if uses & mask else "direct"
