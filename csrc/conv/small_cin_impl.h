/* Direct convolution for few input channels (first layers: C = 1 grey, 3 RGB), float32, stride
 * 1, dilation 1, one group: written once and compiled per ISA (small-cin.c, small-cin-avx2.c,
 * small-cin-avx512.c) with GCC/Clang vector extensions, as the Winograd transforms.
 *
 * Layout legend: N batch, C in-channels, K out-channels, H x W input, P x Q output, R x S filter.
 * Why: the implicit GEMM's depth is only C*R*S here (25 for lenet's 5x5 on one channel), so its
 * microkernel spends as much time storing its tile as multiplying, and packing B costs as much as
 * the GEMM (perf: 39 % packing). This kernel reads the image directly: per output row and strip
 * of 2*VW columns it keeps KB = 6 output channels x 2 vectors in registers, and for every tap
 * (c, r, s) does 2 unaligned loads of the (zero-padded) image row and 6 weight broadcasts.
 * Work items are (image, block of KB channels); each output is one thread's fixed-order sum.
 * Workspace per thread: the zero-padded image, C*(P + R - 1)*(round_up(Q, 2*VW) + S - 1) floats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../pointwise/pointwise.h"
#include "blocking.h"
#include "conv.h"
#include "vec.h"

/* acc += w * x as one FMA where the ISA has it: ISO C mode (-std=c11) turns contraction off. */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif

#define SC_STRIP (2 * CC_VEC_W)
#define SC_KB 6

#define SC_CAT_(a, b) a##_##b
#define SC_CAT(a, b) SC_CAT_(a, b)

/* max(v, floor) lane by lane, keeping NaN (it compares false), as the GEMM epilogue. */
static inline cc_vec sc_floor(cc_vec v, cc_vec floor)
{
    const cc_vec_mask below = v < floor;
    return (cc_vec)(((cc_vec_mask)v & ~below) | ((cc_vec_mask)floor & below));
}

/* Output channels k0 .. k0 + rows (<= KB) of one output row, columns q0 .. q0 + STRIP: out[i]
 * is row i's destination (STRIP writable floats). base: the padded image at that row and column;
 * tap t reads base + offset[t] (one flat loop over (c, r, s): nested short loops cost as much as
 * the 12 FMAs of a tap); w: the weights, [tap][KB] (KB channels side by side). */
static inline void strip(float *const out[SC_KB], const float *restrict base,
                         const int64_t *restrict offset, const float *restrict w, int64_t taps,
                         int64_t rows, const float *bias, cc_vec floor_vec)
{
    cc_vec acc00 = {0}, acc01 = {0}, acc10 = {0}, acc11 = {0}, acc20 = {0}, acc21 = {0};
    cc_vec acc30 = {0}, acc31 = {0}, acc40 = {0}, acc41 = {0}, acc50 = {0}, acc51 = {0};
    for (int64_t t = 0; t < taps; t++) {
        const float *restrict row = base + offset[t];
        const cc_vec x0 = cc_vec_load(row), x1 = cc_vec_load(row + CC_VEC_W);
        const float *restrict tap = w + t * SC_KB;
#define SC_FMA(i)                                                                               \
    acc##i##0 += tap[i] * x0;                                                                   \
    acc##i##1 += tap[i] * x1;
        SC_FMA(0) SC_FMA(1) SC_FMA(2) SC_FMA(3) SC_FMA(4) SC_FMA(5)
#undef SC_FMA
    }
#define SC_STORE(i)                                                                             \
    if ((i) < rows) {                                                                           \
        const float b = bias ? bias[i] : 0.0f;                                                  \
        cc_vec_store(out[i], sc_floor(acc##i##0 + b, floor_vec));                               \
        cc_vec_store(out[i] + CC_VEC_W, sc_floor(acc##i##1 + b, floor_vec));                    \
    }
    SC_STORE(0) SC_STORE(1) SC_STORE(2) SC_STORE(3) SC_STORE(4) SC_STORE(5)
#undef SC_STORE
}

int SC_CAT(cc_conv2d_small_cin_f32, ISA)(float *y, const float *x, const float *weight,
                                         const float *bias, int activation,
                                         const struct cc_conv_geometry *geo, int n_threads)
{
    const int64_t C = geo->c, K = geo->k, H = geo->h, W = geo->w, P = geo->p, Q = geo->q;
    const int64_t R = geo->r, S = geo->s, crs = C * R * S;
    const int64_t hp = P + R - 1, q_pad = round_up(Q, SC_STRIP);
    const int64_t wp = q_pad + S - 1, plane_size = hp * wp;
    const int64_t k_blocks = ceil_div(K, SC_KB), items = geo->n * k_blocks;
    /* Weights as [block of KB channels][tap][KB], zero past K (those rows are not stored), and
     * the taps' offsets in the padded image. */
    float *w_blocks = calloc((size_t)(k_blocks * SC_KB * crs), sizeof(float));
    int64_t *offset = malloc((size_t)crs * sizeof(int64_t));
    if (!w_blocks || !offset) {
        free(w_blocks);
        free(offset);
        return -1;
    }
    for (int64_t k = 0; k < K; k++)
        for (int64_t t = 0; t < crs; t++)
            w_blocks[(k / SC_KB * crs + t) * SC_KB + k % SC_KB] = weight[k * crs + t];
    for (int64_t t = 0; t < crs; t++)
        offset[t] = t / (R * S) * plane_size + t / S % R * wp + t % S;
    const cc_vec floor_vec = (cc_vec){0} + (activation == CC_ACT_RELU ? 0.0f : -INFINITY);
    int failed = 0;
    const int nt = threads_for(items, 2.0 * (double)(geo->n * K * P * Q) * (double)crs, n_threads);
#pragma omp parallel num_threads(nt)
    {
        float *xp = thread_scratch((size_t)(C * plane_size + SC_KB * SC_STRIP) * sizeof(float),
                                   &failed);
        float *tail = xp ? xp + C * plane_size : NULL; /* the last strip of a row */
        int64_t padded_image = -1;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            if (!xp)
                continue;
            const int64_t n = item / k_blocks, k0 = item % k_blocks * SC_KB;
            const int64_t rows = min64(K - k0, SC_KB);
            if (padded_image != n) { /* consecutive items share their image */
                memset(xp, 0, (size_t)(C * plane_size) * sizeof(float));
                for (int64_t c = 0; c < C; c++)
                    for (int64_t ih = 0; ih < H; ih++)
                        memcpy(xp + c * plane_size + (ih + geo->pad_h) * wp + geo->pad_w,
                               x + ((n * C + c) * H + ih) * W, (size_t)W * sizeof(float));
                padded_image = n;
            }
            float *yk = y + (n * K + k0) * P * Q;
            for (int64_t p = 0; p < P; p++)
                for (int64_t q0 = 0; q0 < Q; q0 += SC_STRIP) {
                    const int whole = q0 + SC_STRIP <= Q;
                    float *out[SC_KB];
                    for (int i = 0; i < SC_KB; i++)
                        out[i] = whole && i < rows ? yk + (i * P + p) * Q + q0
                                                   : tail + i * SC_STRIP;
                    strip(out, xp + p * wp + q0, offset, w_blocks + k0 * crs, crs, rows,
                          bias ? bias + k0 : NULL, floor_vec);
                    if (!whole)
                        for (int64_t i = 0; i < rows; i++)
                            memcpy(yk + (i * P + p) * Q + q0, tail + i * SC_STRIP,
                                   (size_t)(Q - q0) * sizeof(float));
                }
        }
        free(xp);
    }
    free(w_blocks);
    free(offset);
    return failed ? -1 : 0;
}
