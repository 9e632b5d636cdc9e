/* Winograd F(2x2, 3x3) convolution, float32: the forward here, the weight gradient at the end
 * of the file (the maths and legend are in winograd.h).
 *
 * Per call: the weights become U[xi] (K x C) = (G g G^T)[xi], packed as the GEMM's A operand
 * (MR-row panels, depth blocks of KC: the direct engine's layout). Work items are blocks of TB
 * consecutive tiles (in n, tp, tq order, so a block may span tile rows and images). Per item:
 *   1. input transform of every channel into V[xi] (C x TB), packed as the B operand
 *      (NR-tile panels [panel][C][NR]), written in place by the per-ISA transform;
 *   2. for each block of KB output channels: the 16 GEMMs M[xi] (KB x TB) = U[xi] . V[xi] with
 *      the direct engine's microkernel (full tiles: U, V are zero-padded), then the output
 *      transform (bias and ReLU fused) straight into y.
 * Each output element is computed by one item in a fixed order: 1 and n threads agree bit for bit.
 *
 * Workspace per thread: 16*C*TB (V) + 16*round_up(KB, MR)*TB (M) floats, TB (a multiple of NR)
 * chosen so that V is about 128 KB: V and M stay in L2 (330 KB in all for C = 256 with AVX2,
 * where TB is one panel). Per call: U, 16*round_up(K, MR)*C floats.
 */
#include <stdlib.h>
#include <string.h>

#include "../dispatch.h"
#include "../gemm/gemm.h"
#include "../pointwise/pointwise.h"
#include "blocking.h"
#include "conv.h"
#include "winograd.h"

/* AUTO takes Winograd from these channel counts on: below them the transforms cost more than
 * the 2.25x fewer multiplies save (measured, 2 threads, Zen 3: C=16 K=8 on 32x32 1.25x faster
 * than direct, C=8 K=16 0.87x, C=3 0.88x; C,K >= 16 1.1-1.5x, vgg shapes 1.6-1.9x). */
#define WG_MIN_IN_CHANNELS 16
#define WG_MIN_OUT_CHANNELS 8
/* Bytes of transformed input per item (V): with M and the U block it stays in L2 (256 KB was
 * measured to scale worse on two threads: vgg-56 1.2-1.4x one thread against 1.2-1.9x). */
#define WG_V_BYTES (128 * 1024)
/* Floats after each V panel and each V[xi]: room for the input transform's whole-vector stores
 * past a run (winograd.h), and V[xi] starts off a 4 KB multiple apart (16 store streams to one
 * L1 set were measured 15 % slower). */
#define WG_SLACK 16

static int winograd_mode = CC_WINOGRAD_AUTO;

void cc_conv2d_set_winograd(int mode) { winograd_mode = mode; }
int cc_conv2d_get_winograd(void) { return winograd_mode; }

/* The weight gradient's chunks pay for their transforms from more channels and longer tile
 * rows than the forward (measured, 2 threads: C = K = 32 on 16x16 1.2x faster than the direct
 * weight gradient, vgg shapes 1.2-1.6x; C = K = 64 on 8x8 0.9x, C = K = 16 on 32x32 0.9x). */
#define WG_GRAD_MIN_CHANNELS 32
#define WG_GRAD_MIN_WIDTH 16

int cc_winograd_f32_weight_grad_applies(const struct cc_conv_geometry *g)
{
    if (!cc_winograd_f32_applies(g))
        return 0;
    return winograd_mode == CC_WINOGRAD_ALWAYS ||
           (g->c >= WG_GRAD_MIN_CHANNELS && g->k >= WG_GRAD_MIN_CHANNELS &&
            g->q >= WG_GRAD_MIN_WIDTH);
}

int cc_winograd_f32_applies(const struct cc_conv_geometry *g)
{
    const int shape_fits = g->r == 3 && g->s == 3 && g->stride_h == 1 && g->stride_w == 1 &&
                           g->dil_h == 1 && g->dil_w == 1 && g->groups == 1 && g->p > 0 &&
                           g->q > 0;
    if (!shape_fits || winograd_mode == CC_WINOGRAD_NEVER)
        return 0;
    return winograd_mode == CC_WINOGRAD_ALWAYS ||
           (g->c >= WG_MIN_IN_CHANNELS && g->k >= WG_MIN_OUT_CHANNELS);
}

struct winograd_isa {
    cc_winograd_input_f32 input;
    cc_winograd_output_f32 output;
    cc_winograd_grad_tile_f32 grad_tile;
};

static struct winograd_isa active_transforms(void)
{
    switch (cc_active_isa()) {
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512:
        return (struct winograd_isa){cc_winograd_input_f32_avx512, cc_winograd_output_f32_avx512,
                                     cc_winograd_grad_tile_f32_avx512};
#endif
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2:
        return (struct winograd_isa){cc_winograd_input_f32_avx2, cc_winograd_output_f32_avx2,
                                     cc_winograd_grad_tile_f32_avx2};
#endif
    default:
        return (struct winograd_isa){cc_winograd_input_f32_scalar, cc_winograd_output_f32_scalar,
                                     cc_winograd_grad_tile_f32_scalar};
    }
}

/* U[xi] = G g G^T for every (k, c), stored where the GEMM reads A: depth block pc (of KC),
 * panel k / MR, depth c - pc, lane k % MR; rows K .. round_up(K, MR) are zero. Called inside
 * the forward's parallel region (one region: waking sleeping threads costs ~0.1 ms here). */
static void transform_weights(float *restrict u, const float *restrict weight, int64_t k_count,
                              int64_t c_count, int64_t mr, int64_t kc_block)
{
    const int64_t m_pad = round_up(k_count, mr), xi_stride = m_pad * c_count;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < m_pad; k++) {
        for (int64_t c = 0; c < c_count; c++) {
            const int64_t pc = c / kc_block * kc_block, kc = min64(kc_block, c_count - pc);
            float *restrict dst = u + pc * m_pad + (k / mr) * kc * mr + (c - pc) * mr + k % mr;
            if (k >= k_count) {
                for (int xi = 0; xi < 16; xi++)
                    dst[xi * xi_stride] = 0.0f;
                continue;
            }
            const float *g = weight + (k * c_count + c) * 9;
            float gg[4][3]; /* G . g */
            for (int s = 0; s < 3; s++) {
                gg[0][s] = g[s];
                gg[1][s] = 0.5f * (g[s] + g[3 + s] + g[6 + s]);
                gg[2][s] = 0.5f * (g[s] - g[3 + s] + g[6 + s]);
                gg[3][s] = g[6 + s];
            }
            for (int i = 0; i < 4; i++) { /* (G . g) . G^T */
                dst[(4 * i + 0) * xi_stride] = gg[i][0];
                dst[(4 * i + 1) * xi_stride] = 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]);
                dst[(4 * i + 2) * xi_stride] = 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]);
                dst[(4 * i + 3) * xi_stride] = gg[i][2];
            }
        }
    }
}

/* A run of tiles inside one tile row (and, for the input side, inside one NR panel). */
struct tile_run {
    int64_t n, tp, tq, count, index; /* index: the first tile's position in the block */
};

/* The next run of tiles starting at block position `index` of a block starting at global tile
 * t0; split at tile-row ends, at multiples of `split` within the block and at the run limit. */
static struct tile_run next_run(int64_t t0, int64_t index, int64_t end, int64_t tiles_p,
                                int64_t tiles_q, int64_t split)
{
    const int64_t t = t0 + index, per_image = tiles_p * tiles_q;
    struct tile_run run = {t / per_image, t % per_image / tiles_q, t % tiles_q, 0, index};
    run.count = min64(min64(tiles_q - run.tq, end - index), split - index % split);
    run.count = min64(run.count, CC_WINOGRAD_MAX_RUN);
    return run;
}

int cc_winograd_f32_forward(float *y, const float *x, const float *weight, const float *bias,
                            int activation, const struct cc_conv_geometry *geo, int n_threads)
{
    const struct cc_gemm_config_f32 *cfg = cc_gemm_config_f32();
    const struct winograd_isa isa = active_transforms();
    const int64_t mr = cfg->mr, nr = cfg->nr, KC = cfg->kc, KB = cfg->mc;
    const int64_t C = geo->c, K = geo->k, H = geo->h, W = geo->w, P = geo->p, Q = geo->q;
    const int64_t tiles_p = ceil_div(P, 2), tiles_q = ceil_div(Q, 2);
    const int64_t tiles = geo->n * tiles_p * tiles_q, m_pad = round_up(K, mr);
    const int64_t tb = clamp64(WG_V_BYTES / (16 * C * (int64_t)sizeof(float)) / nr * nr, nr,
                               CC_WINOGRAD_MAX_RUN);
    const int64_t items = ceil_div(tiles, tb);
    const int relu = activation == CC_ACT_RELU;

    float *u = alloc64((size_t)(16 * m_pad * C) * sizeof(float));
    if (!u)
        return -1;
    const double flops = 2.0 * (double)(geo->n * K * P * Q) * (double)(C * 9);
    const int nt = threads_for(items, flops, n_threads);
    int failed = 0, not_finite = 0;

#pragma omp parallel num_threads(nt) reduction(| : not_finite)
    {
        transform_weights(u, weight, K, C, mr, KC); /* (ends with a barrier) */
        const int64_t panel_stride = C * nr + WG_SLACK;
        const int64_t v_stride = tb / nr * panel_stride + WG_SLACK;
        const int64_t v_size = 16 * v_stride, m_rows = round_up(min64(KB, K), mr);
        float *v = thread_scratch((size_t)(v_size + 16 * m_rows * tb) * sizeof(float), &failed);
        float *m = v ? v + v_size : NULL;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            if (!v)
                continue;
            const int64_t t0 = item * tb, count = min64(tb, tiles - t0);
            /* 1. V[xi] panels [panel][C][NR]; lanes past the last tile stay zero. */
            if (count < tb)
                memset(v, 0, (size_t)v_size * sizeof(float));
            struct tile_run runs[CC_WINOGRAD_MAX_RUN];
            int64_t n_runs = 0;
            for (int64_t index = 0; index < count; index += runs[n_runs++].count)
                runs[n_runs] = next_run(t0, index, count, tiles_p, tiles_q, nr);
            /* Channel by channel, so the runs read one plane in order; the next plane's rows
             * are fetched meanwhile (the planes are H*W apart: no hardware prefetcher follows). */
            for (int64_t c = 0; c < C; c++) {
                for (int64_t i_run = 0; i_run < n_runs; i_run++) {
                    const struct tile_run run = runs[i_run];
                    const float *plane = x + (run.n * C + c) * H * W;
                    const int64_t col0 = 2 * run.tq - geo->pad_w;
                    const float *rows[4];
                    for (int i = 0; i < 4; i++) {
                        const int64_t ih = 2 * run.tp - geo->pad_h + i;
                        rows[i] = ih >= 0 && ih < H ? plane + ih * W : NULL;
                        if (rows[i] && c + 1 < C)
                            for (int64_t col = max64(col0, 0);
                                 col < min64(col0 + 2 * run.count + 2, W); col += 16)
                                __builtin_prefetch(rows[i] + H * W + col);
                    }
                    float *dst = v + run.index / nr * panel_stride + c * nr + run.index % nr;
                    isa.input(dst, v_stride, rows, W, col0, run.count);
                }
            }
            /* 2. M[xi] = U[xi] . V[xi] per block of output channels, then y. */
            for (int64_t k0 = 0; k0 < K; k0 += KB) {
                const int64_t k_count = min64(KB, K - k0), rows_pad = round_up(k_count, mr);
                for (int xi = 0; xi < 16; xi++) {
                    const float *u_xi = u + xi * m_pad * C, *v_xi = v + xi * v_stride;
                    float *m_xi = m + xi * m_rows * tb;
                    for (int64_t pc = 0; pc < C; pc += KC) {
                        const int64_t kc = min64(KC, C - pc);
                        for (int64_t jr = 0; jr < tb; jr += nr)
                            for (int64_t ir = 0; ir < rows_pad; ir += mr)
                                cfg->kernel(kc, u_xi + pc * m_pad + (k0 + ir) * kc,
                                            v_xi + jr / nr * panel_stride + pc * nr,
                                            m_xi + ir * tb + jr, tb, NULL,
                                            pc > 0 ? CC_GEMM_ACCUMULATE : 0);
                    }
                }
                for (int64_t index = 0; index < count;) {
                    const struct tile_run run = next_run(t0, index, count, tiles_p, tiles_q, tb);
                    const int64_t out_cols = min64(2 * run.count, Q - 2 * run.tq);
                    for (int64_t k = k0; k < k0 + k_count; k++) {
                        float *y0 = y + ((run.n * K + k) * P + 2 * run.tp) * Q + 2 * run.tq;
                        float *y1 = 2 * run.tp + 1 < P ? y0 + Q : NULL;
                        not_finite |= isa.output(y0, y1, out_cols, m + (k - k0) * tb + run.index,
                                                 m_rows * tb, run.count, bias ? bias[k] : 0.0f,
                                                 relu);
                    }
                    index += run.count;
                }
            }
        }
        free(v);
    }
    free(u);
    return failed ? -1 : not_finite ? CC_WINOGRAD_NOT_FINITE : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Weight gradient: dU[xi] (K x C) = sum over tiles t of T[xi] (K x tiles) . V[xi]^T, with
 * T = A dY A^T and V = B^T d B per tile, then grad_w = G^T dU G. The tiles are taken in chunks
 * of TD (one chunk's T and V rows, TD long, are the dot microkernel's operands: rows contiguous
 * along the depth, no transposition). Per chunk: the threads transform rows (a channel of x or
 * of dY each), then compute blocks of dU (xi, KB rows, CB columns); every dU element is summed
 * chunk by chunk in the same order whatever the thread count.
 * Workspace per call: 16*(round_up(C, 3) + round_up(K, DOT_MR))*(TD + 16) + 16*K*C floats,
 * TD chosen so that the first part is about WG_GRAD_BYTES (and 128 <= TD <= 512). */
#define WG_GRAD_BYTES (8 << 20)
#define WG_GRAD_KB 32 /* dU block: rows (a multiple of every DOT_MR) */
#define WG_GRAD_CB 48 /* and columns (a multiple of DOT_NR = 3) */

/* grad_w[k][c] = G^T dU[.][k][c] G for the 3x3 filter (G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0;
 * 0 1/2 1/2 1]). */
static void untransform_weight_grad(float *restrict grad_w, const float *restrict du,
                                    int64_t k_count, int64_t c_count)
{
    const int64_t xi_stride = k_count * c_count;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < k_count; k++)
        for (int64_t c = 0; c < c_count; c++) {
            const float *d = du + k * c_count + c;
            float dg[4][3]; /* dU . G */
            for (int i = 0; i < 4; i++) {
                const float u0 = d[(4 * i) * xi_stride], u1 = d[(4 * i + 1) * xi_stride];
                const float u2 = d[(4 * i + 2) * xi_stride], u3 = d[(4 * i + 3) * xi_stride];
                dg[i][0] = u0 + 0.5f * (u1 + u2);
                dg[i][1] = 0.5f * (u1 - u2);
                dg[i][2] = 0.5f * (u1 + u2) + u3;
            }
            float *g = grad_w + (k * c_count + c) * 9;
            for (int j = 0; j < 3; j++) { /* G^T . (dU . G) */
                g[j] = dg[0][j] + 0.5f * (dg[1][j] + dg[2][j]);
                g[3 + j] = 0.5f * (dg[1][j] - dg[2][j]);
                g[6 + j] = 0.5f * (dg[1][j] + dg[2][j]) + dg[3][j];
            }
        }
}

int cc_winograd_f32_weight_grad(float *grad_w, const float *grad_y, const float *x,
                                const struct cc_conv_geometry *geo, int n_threads)
{
    const struct cc_gemm_config_f32 *cfg = cc_gemm_config_f32();
    const struct winograd_isa isa = active_transforms();
    const int64_t dmr = cfg->dot_mr, dnr = CC_DOT_NR, kw = cfg->dot_kw;
    const int64_t C = geo->c, K = geo->k, H = geo->h, W = geo->w, P = geo->p, Q = geo->q;
    const int64_t tiles_p = ceil_div(P, 2), tiles_q = ceil_div(Q, 2);
    const int64_t tiles = geo->n * tiles_p * tiles_q;
    const int64_t c_rows = round_up(C, dnr), k_rows = round_up(K, dmr);
    int64_t td = WG_GRAD_BYTES / (16 * (c_rows + k_rows) * (int64_t)sizeof(float)) / 16 * 16;
    td = min64(clamp64(td, 128, 512), round_up(tiles, 16));
    const int64_t ld = td + WG_SLACK, v_xi = c_rows * ld, t_xi = k_rows * ld;
    const int64_t chunks = ceil_div(tiles, td);
    const int64_t k_blocks = ceil_div(K, WG_GRAD_KB), c_blocks = ceil_div(C, WG_GRAD_CB);
    const int64_t blocks = 16 * k_blocks * c_blocks;
    /* Zeroed: the rows past C and K are read (not stored) by the dot kernel's edge tiles. */
    float *v = calloc((size_t)(16 * (v_xi + t_xi)), sizeof(float));
    float *du = malloc((size_t)(16 * K * C) * sizeof(float));
    if (!v || !du) {
        free(v);
        free(du);
        return -1;
    }
    float *t = v + 16 * v_xi;
    const double flops = 2.0 * (double)(geo->n * K * P * Q) * (double)(C * 9);
    const int nt = threads_for(C + K, flops, n_threads);

#pragma omp parallel num_threads(nt)
    for (int64_t chunk = 0; chunk < chunks; chunk++) {
        const int64_t t0 = chunk * td, count = min64(td, tiles - t0), depth = round_up(count, kw);
        /* 1. Rows of V (a channel of x each) and of T (a channel of dY each). */
#pragma omp for schedule(static)
        for (int64_t row = 0; row < C + K; row++) {
            float *dst = row < C ? v + row * ld : t + (row - C) * ld;
            const int64_t xi_stride = row < C ? v_xi : t_xi;
            for (int64_t index = 0; index < count;) {
                const struct tile_run run = next_run(t0, index, count, tiles_p, tiles_q, td);
                if (row < C) {
                    const float *plane = x + (run.n * C + row) * H * W, *rows[4];
                    for (int i = 0; i < 4; i++) {
                        const int64_t ih = 2 * run.tp - geo->pad_h + i;
                        rows[i] = ih >= 0 && ih < H ? plane + ih * W : NULL;
                    }
                    isa.input(dst + index, xi_stride, rows, W, 2 * run.tq - geo->pad_w,
                              run.count);
                } else {
                    const float *y0 = grad_y + ((run.n * K + row - C) * P + 2 * run.tp) * Q +
                                      2 * run.tq;
                    isa.grad_tile(dst + index, xi_stride, y0, 2 * run.tp + 1 < P ? y0 + Q : NULL,
                                  min64(2 * run.count, Q - 2 * run.tq), run.count);
                }
                index += run.count;
            }
            for (int xi = 0; xi < 16; xi++) /* the depth padding the dot kernel reads */
                memset(dst + xi * xi_stride + count, 0, (size_t)(depth - count) * sizeof(float));
        }
        /* 2. dU[xi] (+)= T[xi] . V[xi]^T, block by block. */
#pragma omp for schedule(static)
        for (int64_t block = 0; block < blocks; block++) {
            const int64_t xi = block / (k_blocks * c_blocks);
            const int64_t k0 = block / c_blocks % k_blocks * WG_GRAD_KB;
            const int64_t c0 = block % c_blocks * WG_GRAD_CB;
            const int64_t k1 = min64(K, k0 + WG_GRAD_KB), c1 = min64(C, c0 + WG_GRAD_CB);
            for (int64_t c = c0; c < c1; c += dnr)
                for (int64_t k = k0; k < k1; k += dmr)
                    cfg->dot_kernel(depth, t + xi * t_xi + k * ld, ld, v + xi * v_xi + c * ld, ld,
                                    du + (xi * K + k) * C + c, C, min64(dmr, k1 - k),
                                    min64(dnr, c1 - c), chunk > 0 ? CC_GEMM_ACCUMULATE : 0);
        }
    }
#pragma omp parallel num_threads(nt)
    untransform_weight_grad(grad_w, du, K, C);
    free(v);
    free(du);

    for (int64_t i = 0; i < K * C * 9; i++)
        if (grad_w[i] - grad_w[i] != 0.0f)
            return CC_WINOGRAD_NOT_FINITE;
    return 0;
}
