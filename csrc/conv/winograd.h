/* Winograd F(2x2, 3x3) convolution, float32: the fast path of 3x3 stride-1 layers with many
 * channels (winograd-f32.c drives it, winograd_impl.h holds the per-ISA tile transforms).
 *
 * Layout legend: N batch, C in-channels, K out-channels, H x W input, P x Q output (3x3 filter,
 * stride 1, dilation 1, one group); TP x TQ tiles per image (TP = ceil(P/2), TQ = ceil(Q/2)),
 * T = N*TP*TQ tiles in all; xi < 16 indexes the 4x4 transformed tile (xi = 4*i + j).
 * Each 2x2 output tile comes from a 4x4 input tile d (rows 2tp - ph .. +3, columns 2tq - pw ..
 * +3, zeros outside the image):
 *     y = A^T [ sum_c (G g G^T) .* (B^T d B) ] A + bias
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 * so the sum over c is 16 independent GEMMs M[xi] (K x T) = U[xi] (K x C) . V[xi] (C x T), run
 * with the direct engine's microkernel: 16*K*C*T multiply-adds against 36*K*C*T/4 for direct, 2.25x
 * fewer. Rounding: the transforms add a few terms of similar size, so the error stays within a
 * small factor of direct's (measured in tests/test_conv.py and stated in docs/conventions.md).
 */
#ifndef CONVCORE_WINOGRAD_H
#define CONVCORE_WINOGRAD_H

#include <stdint.h>

#include "conv.h"

/* Longest run of tiles one transform call handles (its stack buffers are sized for this). */
#define CC_WINOGRAD_MAX_RUN 64

/* Input transform of `count` consecutive tiles of one tile row of one channel plane:
 * rows[i] (i < 4) is input row 2tp - ph + i, or NULL when that row is padding; col0 = 2*tq0 - pw
 * is the first tile's first column (may be negative), w the row length. Writes
 * v[xi * v_stride + u] = (B^T d_u B)[xi] for u < count <= CC_WINOGRAD_MAX_RUN, in whole vectors:
 * lanes count .. round_up(count, 16) may be overwritten with other values too. */
typedef void (*cc_winograd_input_f32)(float *restrict v, int64_t v_stride,
                                      const float *const rows[4], int64_t w, int64_t col0,
                                      int64_t count);
/* Output transform of `count` consecutive tiles of one tile row of one output channel:
 * m[xi * m_stride + u] holds tile u's 16 products summed over channels; writes
 * y = act(A^T m A + bias) to y0[0 .. out_cols) (output row 2tp, from column 2*tq0) and, unless
 * y1 is NULL (P odd, last tile row), the same columns of y1 (row 2tp + 1). out_cols <= 2*count.
 * relu: clamp at 0, NaN kept (as the GEMM epilogue). Returns 1 if a result (before ReLU) was
 * NaN or infinite, else 0. */
typedef int (*cc_winograd_output_f32)(float *restrict y0, float *restrict y1, int64_t out_cols,
                                       const float *restrict m, int64_t m_stride, int64_t count,
                                       float bias, int relu);

/* Weight-gradient side: tile u of dY (2x2: dY rows y0, y1 from column 2*tq0; zero past `cols`
 * columns, and y1 NULL for a row past P) transformed to A dY A^T, t[xi * t_stride + u]; whole
 * vectors, like the input transform. A = (A^T)^T. */
typedef void (*cc_winograd_grad_tile_f32)(float *restrict t, int64_t t_stride, const float *y0,
                                          const float *y1, int64_t cols, int64_t count);

#define CC_DECLARE_WINOGRAD(isa)                                                                 \
    void cc_winograd_input_f32_##isa(float *restrict v, int64_t v_stride,                        \
                                     const float *const rows[4], int64_t w, int64_t col0,        \
                                     int64_t count);                                             \
    int cc_winograd_output_f32_##isa(float *restrict y0, float *restrict y1, int64_t out_cols,  \
                                     const float *restrict m, int64_t m_stride, int64_t count,   \
                                     float bias, int relu);                                      \
    void cc_winograd_grad_tile_f32_##isa(float *restrict t, int64_t t_stride, const float *y0,   \
                                         const float *y1, int64_t cols, int64_t count);
CC_DECLARE_WINOGRAD(scalar)
CC_DECLARE_WINOGRAD(avx2)
CC_DECLARE_WINOGRAD(avx512)
#undef CC_DECLARE_WINOGRAD

/* When the forward convolution takes the Winograd path (cc_conv2d_set_winograd). */
enum { CC_WINOGRAD_NEVER = 0, CC_WINOGRAD_AUTO = 1, CC_WINOGRAD_ALWAYS = 2 };

/* 1 if the geometry is one Winograd computes (3x3, stride 1, dilation 1, groups 1) and the
 * mode allows it (AUTO: enough channels for it to win, see winograd-f32.c). */
int cc_winograd_f32_applies(const struct cc_conv_geometry *geo);
/* y = act(conv(x, weight) + bias) by F(2x2, 3x3); same contract as cc_conv2d_forward_f32, and
 * returns CC_WINOGRAD_NOT_FINITE if some result was NaN or infinite: the transforms spread a NaN
 * or infinity of x or the weights over whole tiles (inf - inf = NaN), so the caller recomputes
 * such a y directly, for the NaN and inf pattern of the direct convolution. */
#define CC_WINOGRAD_NOT_FINITE 1
/* grad_w of the same convolutions: dU[xi] (K x C) = sum over tiles of (A dY A^T)[xi] * V[xi]
 * (the dot microkernel, depth = tiles), then grad_w = G^T dU G. Same return values: a NaN or
 * infinity in the result asks the caller for the direct weight gradient. */
int cc_winograd_f32_weight_grad_applies(const struct cc_conv_geometry *geo);
int cc_winograd_f32_weight_grad(float *grad_w, const float *grad_y, const float *x,
                                const struct cc_conv_geometry *geo, int n_threads);
int cc_winograd_f32_forward(float *y, const float *x, const float *weight, const float *bias,
                            int activation, const struct cc_conv_geometry *geo, int n_threads);

#endif
