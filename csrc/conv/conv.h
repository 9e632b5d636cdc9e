/* 2-D convolution, forward and backward, float32 and float64: the implicit GEMM engine
 * (conv-engine.h) for every geometry, and for float32 two special cases it hands shapes to:
 * Winograd F(2x2, 3x3) (winograd.h) and a direct kernel for few input channels
 * (small_cin_impl.h); docs/conventions.md says when each runs.
 *
 * Layout legend: N batch, C in-channels, K out-channels, H x W input, P x Q output, R x S filter,
 * G groups. x (N, C, H, W), weight (K, C/G, R, S), bias (K), y (N, K, P, Q), all C-contiguous.
 * The caller (convcore/functional/conv.py) has checked every argument; P and Q are the output
 * sizes it computed. Functions return 0, or -1 if scratch memory could not be allocated (then
 * the outputs are undefined).
 */
#ifndef CONVCORE_CONV_H
#define CONVCORE_CONV_H

#include <stdint.h>

struct cc_conv_geometry {
    int64_t n, c, k, h, w, p, q, r, s;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
};

/* y = act(conv(x, weight) + bias); bias may be NULL; activation: CC_ACT_NONE / CC_ACT_RELU. */
int cc_conv2d_forward_f32(float *y, const float *x, const float *weight, const float *bias,
                          int activation, const struct cc_conv_geometry *geo, int n_threads);
int cc_conv2d_forward_f64(double *y, const double *x, const double *weight, const double *bias,
                          int activation, const struct cc_conv_geometry *geo, int n_threads);

/* Gradients of the convolution (without activation: the caller masks grad_y first). Each of
 * grad_x (N, C, H, W), grad_weight (K, C/G, R, S), grad_bias (K) is computed only if not NULL,
 * and overwritten (not accumulated). Results do not depend on n_threads (bit for bit). */
int cc_conv2d_backward_f32(float *grad_x, float *grad_weight, float *grad_bias,
                           const float *grad_y, const float *x, const float *weight,
                           const struct cc_conv_geometry *geo, int n_threads);
int cc_conv2d_backward_f64(double *grad_x, double *grad_weight, double *grad_bias,
                           const double *grad_y, const double *x, const double *weight,
                           const struct cc_conv_geometry *geo, int n_threads);

/* The direct kernel for few input channels (small_cin_impl.h): when it applies, and the
 * forward it runs (float32; same contract as cc_conv2d_forward_f32). */
int cc_conv2d_small_cin_applies(const struct cc_conv_geometry *geo);
int cc_conv2d_small_cin_f32(float *y, const float *x, const float *weight, const float *bias,
                            int activation, const struct cc_conv_geometry *geo, int n_threads);

/* Forward algorithm for 3x3 stride-1 float32 layers: 0 direct always, 1 Winograd F(2x2, 3x3)
 * when the channel counts make it pay (default), 2 Winograd whenever the shape allows. */
void cc_conv2d_set_winograd(int mode);
int cc_conv2d_get_winograd(void);
/* Which parts of this geometry's convolution (and dtype) run Winograd now, a bitmask: 1 the
 * forward, 2 the weight gradient, 4 the data gradient (when it is a forward conv of dY); 8: the
 * forward runs the direct kernel for few input channels instead. */
int cc_conv2d_uses_winograd(const struct cc_conv_geometry *geo, int is_f64);

/* Name of the microkernel the active ISA uses for dtype "f32" / "f64" (for build_info, tests). */
const char *cc_conv2d_kernel_name(int is_f64);
/* Its block sizes (MR, NR, KC, MC, NC), so tests can sweep sizes around every tile edge. */
void cc_conv2d_block_sizes(int is_f64, int64_t sizes[5]);

#endif
