/* Winograd F(2x2, 3x3) forward convolution, float32 (the maths and legend are in winograd.h).
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
 * Workspace per thread: 16*C*TB (V) + 16*round_up(KB, MR)*TB (M) floats, TB chosen so that V
 * is ~256 KB (L2): 330 KB for C = 256 with AVX2. Per call: U, 16*round_up(K, MR)*C floats.
 */
#include <stdlib.h>
#include <string.h>

#include "../dispatch.h"
#include "../gemm/gemm.h"
#include "../pointwise/pointwise.h"
#include "conv.h"
#include "winograd.h"

/* AUTO takes Winograd from these channel counts on: below them the transforms cost more than
 * the 2.25x fewer multiplies save (measured, 2 threads, Zen 3: C=16 K=8 on 32x32 1.25x faster
 * than direct, C=8 K=16 0.87x, C=3 0.88x; C,K >= 16 1.1-1.5x, vgg shapes 1.6-1.9x). */
#define WG_MIN_IN_CHANNELS 16
#define WG_MIN_OUT_CHANNELS 8
/* Bytes of transformed input per item (V): a few blocks of it share L2 with the U block. */
#define WG_V_BYTES (256 * 1024)
/* Floats after each V panel and each V[xi]: room for the input transform's whole-vector stores
 * past a run (winograd.h), and V[xi] starts off a 4 KB multiple apart (16 store streams to one
 * L1 set were measured 15 % slower). */
#define WG_SLACK 16

static int winograd_mode = CC_WINOGRAD_AUTO;

void cc_conv2d_set_winograd(int mode) { winograd_mode = mode; }
int cc_conv2d_get_winograd(void) { return winograd_mode; }

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

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
};

static struct winograd_isa active_transforms(void)
{
    switch (cc_active_isa()) {
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512:
        return (struct winograd_isa){cc_winograd_input_f32_avx512, cc_winograd_output_f32_avx512};
#endif
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2:
        return (struct winograd_isa){cc_winograd_input_f32_avx2, cc_winograd_output_f32_avx2};
#endif
    default:
        return (struct winograd_isa){cc_winograd_input_f32_scalar, cc_winograd_output_f32_scalar};
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

    float *u = aligned_alloc(64, (size_t)round_up(16 * m_pad * C * (int64_t)sizeof(float), 64));
    if (!u)
        return -1;
    const int nt = (int)min64(n_threads, items);
    int failed = 0, not_finite = 0;

#pragma omp parallel num_threads(nt) reduction(| : not_finite)
    {
        transform_weights(u, weight, K, C, mr, KC); /* (ends with a barrier) */
        const int64_t panel_stride = C * nr + WG_SLACK, v_stride = tb / nr * panel_stride + WG_SLACK;
        const int64_t v_size = 16 * v_stride, m_rows = round_up(min64(KB, K), mr);
        float *v = aligned_alloc(64, (size_t)(v_size + 16 * m_rows * tb) * sizeof(float));
        float *m = v ? v + v_size : NULL;
        if (!v) {
#pragma omp atomic write
            failed = 1;
        }
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
                            for (int64_t col = max64(col0, 0); col < min64(col0 + 2 * run.count + 2, W); col += 16)
                                __builtin_prefetch(rows[i] + H * W + col);
                    }
                    isa.input(v + (run.index / nr) * panel_stride + c * nr + run.index % nr, v_stride,
                              rows, W, col0, run.count);
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
                                            v_xi + jr / nr * panel_stride + pc * nr, m_xi + ir * tb + jr, tb,
                                            NULL, pc > 0 ? CC_GEMM_ACCUMULATE : 0);
                    }
                }
                for (int64_t index = 0; index < count;) {
                    const struct tile_run run = next_run(t0, index, count, tiles_p, tiles_q, tb);
                    const int64_t out_cols = min64(2 * run.count, Q - 2 * run.tq);
                    for (int64_t k = k0; k < k0 + k_count; k++) {
                        float *y0 = y + ((run.n * K + k) * P + 2 * run.tp) * Q + 2 * run.tq;
                        not_finite |= isa.output(y0, 2 * run.tp + 1 < P ? y0 + Q : NULL, out_cols,
                                   m + (k - k0) * tb + run.index, m_rows * tb, run.count,
                                   bias ? bias[k] : 0.0f, relu);
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
