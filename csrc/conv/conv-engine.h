/* Implicit-GEMM convolution engine, forward and backward, for one element type.
 *
 * Included by conv-f32.c / conv-f64.c with CC_T (element type), CC_NAME(x) (x##_f32 / x##_f64),
 * CC_CONFIG (struct cc_gemm_config_*) and CC_GET_CONFIG (its getter for the active ISA).
 *
 * Layout legend: N batch, C in-channels, K out-channels, H x W input, P x Q output, R x S filter,
 * G groups, Cg = C/G, Kg = K/G, KRS = Cg*R*S (GEMM depth of the forward), PQ = P*Q.
 *   forward       Y[n,g]  (Kg x PQ)   = W[g] (Kg x KRS) . cols(X[n,g]) (KRS x PQ)
 *   data grad     stride 1, Cg >= 16: a forward conv of dY with flipped, transposed weights;
 *                 else dcols (KRS x PQ) = W[g]^T . dY[n,g] (Kg x PQ), scattered (col2im) into dX
 *   weight grad   dW[g]   (Kg x KRS)  = sum_n dY[n,g] . cols(X[n,g])^T  (dot microkernel)
 * Loops (BLIS): per work item (an image/group/pixel block, or a block of dW), for each depth
 * block of KC: pack B (KC x NC, per thread), then MC-row blocks of A, NR panels of B, MR panels
 * of A; the weights are packed once per call. B is packed straight from the image (conv-pack.h:
 * a plain copy for 1x1 stride-1 unpadded convs, shifted copies for stride-1 "same-width" ones,
 * the general gather otherwise). Threads split work items (static schedule, num_threads capped
 * at the item count and at ~1 MFLOP per thread); every output element is summed in an order that
 * does not depend on the split, so 1 and n threads give bit-identical results.
 *
 * Workspace. Per thread, at most KC*(NC+2) + round_up(max(MC, R*S), MR)*max(KC, NC) + MR*NR
 * elements on the heap (85 K floats = 340 KB for float32 AVX2 when R*S <= 72) plus a 16 KB
 * table on the stack, independent of N and of the image size (small problems allocate only
 * what their blocks need). Per call: the packed weights (the weights' size rounded up to MR
 * rows; also the flipped weights for the data gradient) and, for small weight gradients, at
 * most 8 partial dW (<= 8 * 16 K elements).
 */
#include <stdlib.h>
#include <string.h>

#include "../gemm/gemm.h"
#include "../pointwise/pointwise.h"
#include "conv.h"

#include "conv-pack.h"

/* One MR x NR tile; edge tiles (fewer rows or columns) run the same microkernel on a padded
 * tile in `scratch` and copy the valid part. */
static void run_tile(const CC_CONFIG *cfg, int64_t kc, const CC_T *a, const CC_T *b, CC_T *c,
                     int64_t ldc, int64_t rows, int64_t cols, const CC_T *bias, int flags,
                     CC_T *restrict scratch)
{
    const int64_t mr = cfg->mr, nr = cfg->nr;
    if (rows == mr && cols == nr) {
        cfg->kernel(kc, a, b, c, ldc, bias, flags);
        return;
    }
    CC_T bias_padded[CC_GEMM_MAX_MR] = {0};
    if (bias)
        memcpy(bias_padded, bias, (size_t)rows * sizeof(CC_T));
    if (flags & CC_GEMM_ACCUMULATE) {
        memset(scratch, 0, (size_t)(mr * nr) * sizeof(CC_T));
        for (int64_t i = 0; i < rows; i++)
            memcpy(scratch + i * nr, c + i * ldc, (size_t)cols * sizeof(CC_T));
    }
    cfg->kernel(kc, a, b, scratch, nr, bias ? bias_padded : NULL, flags);
    for (int64_t i = 0; i < rows; i++)
        memcpy(c + i * ldc, scratch + i * nr, (size_t)cols * sizeof(CC_T));
}

static struct im_view image_view(const struct cc_conv_geometry *g)
{
    struct im_view v = {g->h, g->w, g->p, g->q, g->r, g->s, g->stride_h, g->stride_w,
                        g->pad_h, g->pad_w, g->dil_h, g->dil_w};
    /* 1x1, stride 1, no padding: cols(X) is the image itself; one long row makes every packing
     * run a full NR-wide copy. */
    if (v.r == 1 && v.s == 1 && v.sh == 1 && v.sw == 1 && v.ph == 0 && v.pw == 0) {
        v.w = v.q = v.h * v.w;
        v.h = v.p = 1;
    }
    return v;
}

/* Stride 1 and Q == W, every column shift |s*dw - pw| < W: the shifted-copy packers apply. */
static int is_same_width(const struct cc_conv_geometry *g)
{
    return g->stride_h == 1 && g->stride_w == 1 && g->q == g->w && g->pad_w < g->w &&
           (g->s - 1) * g->dil_w - g->pad_w < g->w;
}

/* ------------------------------------------------------------------------------------------ */
/* Forward: y = act(conv(x, w) + bias).                                                        */

static int CC_NAME(forward_direct)(CC_T *y, const CC_T *x, const CC_T *weight, const CC_T *bias,
                                 int activation, const struct cc_conv_geometry *geo,
                                 int n_threads)
{
    const CC_CONFIG *cfg = CC_GET_CONFIG();
    const int64_t mr = cfg->mr, nr = cfg->nr, KC = cfg->kc, MC = cfg->mc;
    const int64_t G = geo->groups, cg = geo->c / G, kg = geo->k / G;
    const int64_t krs = cg * geo->r * geo->s, pq = geo->p * geo->q, hw = geo->h * geo->w;
    const int64_t m_pad = round_up(kg, mr), m_panels = m_pad / mr;
    const struct im_view view = image_view(geo);
    /* The image itself is the B matrix (1x1, stride 1, no padding): copy, no gather. */
    const int plain = view.h == 1 && view.p == 1 && view.ph == 0 && view.r == 1 && view.s == 1 &&
                      view.sw == 1 && view.pw == 0 && view.q == view.w;
    const int same_width = !plain && is_same_width(geo);
    if (geo->n == 0 || pq == 0 || kg == 0)
        return 0;

    CC_T *a_packed = alloc64((size_t)(G * m_pad * krs) * sizeof(CC_T));
    if (!a_packed)
        return -1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t pc = 0; pc < krs; pc += KC)
            pack_a(a_packed + g * m_pad * krs + pc * m_pad, weight + g * kg * krs, krs, 1, kg, pc,
                   min64(KC, krs - pc), 0, min64(KC, krs - pc), mr);

    /* Work items: (image, group, pixel block, row block). Pixel blocks shrink below NC (and
     * then row blocks split) only when there are too few items to keep every thread busy;
     * neither changes the summation order of an output element. */
    const int64_t images = geo->n * G;
    int64_t nc = cfg->nc;
    if (n_threads > 1 && images * ceil_div(pq, nc) < 4 * (int64_t)n_threads) {
        const int64_t blocks = ceil_div(4 * (int64_t)n_threads, images);
        nc = clamp64(round_up(ceil_div(pq, blocks), nr), nr, cfg->nc);
    }
    const int64_t pix_blocks = ceil_div(pq, nc);
    int64_t row_blocks = 1;
    if (images * pix_blocks < n_threads)
        row_blocks = min64(m_panels, ceil_div(n_threads, images * pix_blocks));
    const int64_t panels_per_block = ceil_div(m_panels, row_blocks);
    const int64_t items = images * pix_blocks * row_blocks;
    const double flops = 2.0 * (double)(geo->n * geo->k * pq) * (double)krs;
    const int nt = threads_for(items, flops, n_threads);
    const int flags_last = activation == CC_ACT_RELU ? CC_GEMM_RELU : 0;
    int failed = 0;

#pragma omp parallel num_threads(nt)
    {
        /* The block sizes bound the buffer; small problems take (and fault in) less. */
        const int64_t b_size = min64(KC, krs) * round_up(nc, nr);
        CC_T *b_packed = thread_scratch((size_t)(b_size + mr * nr) * sizeof(CC_T), &failed);
        CC_T *scratch = b_packed ? b_packed + b_size : NULL;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            if (!b_packed)
                continue;
            const int64_t rb = item % row_blocks, pb = (item / row_blocks) % pix_blocks;
            const int64_t image = item / (row_blocks * pix_blocks);
            const int64_t n = image / G, g = image % G;
            const int64_t j0 = pb * nc, ncur = min64(nc, pq - j0);
            const int64_t m0 = rb * panels_per_block * mr;
            const int64_t m1 = min64(kg, m0 + panels_per_block * mr);
            const CC_T *xg = x + (n * geo->c + g * cg) * hw;
            CC_T *yg = y + (n * geo->k + g * kg) * pq + j0;
            const CC_T *ag = a_packed + g * m_pad * krs;
            /* (Packing and using one NR panel at a time, to stay in L1 when Kg is small, was
             * measured slower: the packer's per-row setup is then paid per panel.) */
            for (int64_t pc = 0; pc < krs; pc += KC) {
                const int64_t kc = min64(KC, krs - pc);
                const int last = pc + kc >= krs;
                const int flags = (pc > 0 ? CC_GEMM_ACCUMULATE : 0) | (last ? flags_last : 0);
                if (plain)
                    pack_b_plain(b_packed, xg, hw, pc, kc, j0, ncur, nr);
                else if (same_width)
                    pack_b_same_width(b_packed, xg, &view, pc, kc, j0, ncur, nr);
                else
                    pack_b_im2col(b_packed, xg, &view, pc, kc, j0, ncur, nr);
                for (int64_t ic = m0; ic < m1; ic += MC)
                    for (int64_t jr = 0; jr < ncur; jr += nr)
                        for (int64_t ir = ic; ir < min64(ic + MC, m1); ir += mr)
                            run_tile(cfg, kc, ag + pc * m_pad + ir * kc, b_packed + jr * kc,
                                     yg + ir * pq + jr, pq, min64(mr, m1 - ir),
                                     min64(nr, ncur - jr),
                                     (last && bias) ? bias + g * kg + ir : NULL, flags, scratch);
            }
        }
        free(b_packed);
    }
    free(a_packed);
    return failed ? -1 : 0;
}

/* The includer defines CC_F32_SPECIAL_CASES (float32) to send the shapes the special cases handle
 * there: few input channels to the direct kernel (small_cin_impl.h), 3x3 stride 1 to Winograd (a
 * result with NaN or infinities is then recomputed directly, see winograd.h). */
int CC_NAME(cc_conv2d_forward)(CC_T *y, const CC_T *x, const CC_T *weight, const CC_T *bias,
                               int activation, const struct cc_conv_geometry *geo, int n_threads)
{
#ifdef CC_F32_SPECIAL_CASES
    if (cc_winograd_f32_applies(geo)) { /* (never for few channels, unless forced) */
        const int status = cc_winograd_f32_forward(y, x, weight, bias, activation, geo, n_threads);
        if (status != CC_WINOGRAD_NOT_FINITE)
            return status;
    } else if (cc_conv2d_small_cin_applies(geo)) {
        return cc_conv2d_small_cin_f32(y, x, weight, bias, activation, geo, n_threads);
    }
#endif
    return CC_NAME(forward_direct)(y, x, weight, bias, activation, geo, n_threads);
}

/* ------------------------------------------------------------------------------------------ */
/* Backward.                                                                                   */

/* grad_bias[k] = sum over n and pixels of grad_y[n, k], in double. Eight independent lane sums
 * (pixel j goes to lane j % 8) vectorise without reassociating anything, and are added in lane
 * order at the end: a fixed order (one running sum was a 4-cycle add chain per element, the
 * slowest part of lenet-c1's backward). */
#define BIAS_LANES 8
static void bias_grad(CC_T *grad_bias, const CC_T *grad_y, const struct cc_conv_geometry *geo,
                      int n_threads)
{
    const int64_t pq = geo->p * geo->q, K = geo->k, full = pq / BIAS_LANES * BIAS_LANES;
    const int nt = threads_for(K, (double)(geo->n * K * pq), n_threads);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t k = 0; k < K; k++) {
        double lanes[BIAS_LANES] = {0};
        for (int64_t n = 0; n < geo->n; n++) {
            const CC_T *row = grad_y + (n * K + k) * pq;
            for (int64_t j = 0; j < full; j += BIAS_LANES)
                for (int u = 0; u < BIAS_LANES; u++)
                    lanes[u] += row[j + u];
            for (int64_t j = full; j < pq; j++)
                lanes[j - full] += row[j];
        }
        double sum = 0;
        for (int u = 0; u < BIAS_LANES; u++)
            sum += lanes[u];
        grad_bias[k] = (CC_T)sum;
    }
}

/* grad_x: per item (image, group, block of cb channels), dcols = W^T . dY over NC-pixel blocks,
 * scattered into the item's own channels of dX: items write disjoint parts of dX, and each
 * element sums its contributions in (pixel block, row) order whatever the thread count. */
static int data_grad(CC_T *grad_x, const CC_T *grad_y, const CC_T *weight,
                     const struct cc_conv_geometry *geo, int n_threads)
{
    const CC_CONFIG *cfg = CC_GET_CONFIG();
    const int64_t mr = cfg->mr, nr = cfg->nr, KC = cfg->kc, NC = cfg->nc;
    const int64_t G = geo->groups, cg = geo->c / G, kg = geo->k / G, rs = geo->r * geo->s;
    const int64_t krs = cg * rs, pq = geo->p * geo->q, hw = geo->h * geo->w;
    const int64_t cb = max64(1, cfg->mc / rs), blocks = ceil_div(cg, cb);
    const int64_t rows_pad = round_up(cb * rs, mr);
    const struct im_view view = {geo->h, geo->w, geo->p, geo->q, geo->r, geo->s, geo->stride_h,
                                 geo->stride_w, geo->pad_h, geo->pad_w, geo->dil_h, geo->dil_w};

    CC_T *a_packed = alloc64((size_t)(G * blocks * rows_pad * max64(kg, 1)) * sizeof(CC_T));
    if (!a_packed)
        return -1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t bl = 0; bl < blocks; bl++) {
            const int64_t c0 = bl * cb, rows = (min64(cg, c0 + cb) - c0) * rs;
            for (int64_t pc = 0; pc < kg; pc += KC)
                pack_a(a_packed + (g * blocks + bl) * rows_pad * kg + pc * rows_pad,
                       weight + g * kg * krs + c0 * rs, 1, krs, rows, pc, min64(KC, kg - pc), 0,
                       min64(KC, kg - pc), mr);
        }

    const int64_t items = geo->n * G * blocks;
    const double flops = 2.0 * (double)(geo->n * geo->k * pq) * (double)krs;
    const int nt = threads_for(items, flops, n_threads);
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        const int64_t ld = min64(NC, round_up(pq, nr)), b_size = min64(KC, kg) * ld;
        CC_T *b_packed = thread_scratch((size_t)(b_size + rows_pad * ld) * sizeof(CC_T), &failed);
        CC_T *dcols = b_packed ? b_packed + b_size : NULL;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            if (!b_packed)
                continue;
            const int64_t bl = item % blocks, g = (item / blocks) % G, n = item / (blocks * G);
            const int64_t c0 = bl * cb, c1 = min64(cg, c0 + cb), rows = (c1 - c0) * rs;
            CC_T *dx = grad_x + (n * geo->c + g * cg + c0) * hw;
            const CC_T *dy = grad_y + (n * geo->k + g * kg) * pq;
            const CC_T *ab = a_packed + (g * blocks + bl) * rows_pad * kg;
            memset(dx, 0, (size_t)((c1 - c0) * hw) * sizeof(CC_T));
            if (kg == 0)
                continue;
            for (int64_t j0 = 0; j0 < pq; j0 += ld) {
                const int64_t ncur = min64(ld, pq - j0);
                for (int64_t pc = 0; pc < kg; pc += KC) {
                    const int64_t kc = min64(KC, kg - pc);
                    pack_b_plain(b_packed, dy, pq, pc, kc, j0, ncur, nr);
                    /* dcols has ld >= round_up(ncur, NR) columns and rows_pad rows, and the
                     * packed operands are zero-padded: every tile is a full one. */
                    for (int64_t jr = 0; jr < ncur; jr += nr)
                        for (int64_t ir = 0; ir < rows; ir += mr)
                            cfg->kernel(kc, ab + pc * rows_pad + ir * kc, b_packed + jr * kc,
                                        dcols + ir * ld + jr, ld, NULL,
                                        pc > 0 ? CC_GEMM_ACCUMULATE : 0);
                }
                col2im_add(dx, dcols, ld, rows, &view, j0, ncur);
            }
        }
        free(b_packed);
    }
    free(a_packed);
    return failed ? -1 : 0;
}

/* grad_weight with the dot microkernel: dW[g] (Kg x KRS) = sum over depth t (every image's
 * pixels, in order) of dY[t] . cols(X)[t]^T; both operands are packed as rows contiguous along
 * t (a plain copy for dY, the im2col row packer for X), no transposition. Work items: (depth
 * chunk, group, block of dW columns, block of dW rows); within an item the depth runs in order
 * in KC blocks that may span images. A small dW with a long depth (first layers, small images)
 * is split into D depth chunks with partial dWs summed in chunk order afterwards; D depends on
 * the shape only, so every element's summation order is fixed whatever the thread count. */
#define DW_PARTIAL_MAX_ELEMENTS 16384 /* 64 KB of float32 per chunk */
#define DW_MAX_CHUNKS 8
static int weight_grad(CC_T *grad_w, const CC_T *grad_y, const CC_T *x,
                       const struct cc_conv_geometry *geo, int n_threads)
{
    const CC_CONFIG *cfg = CC_GET_CONFIG();
    const int64_t dmr = cfg->dot_mr, dnr = CC_DOT_NR, kw = cfg->dot_kw;
    /* Twice the GEMM's depth block, half its column block: the dot kernel's horizontal sums
     * and C updates are paid once per depth block, and the B rows still fit L2. */
    const int64_t KC = 2 * cfg->kc, MC = cfg->mc;
    const int64_t G = geo->groups, cg = geo->c / G, kg = geo->k / G;
    const int64_t krs = cg * geo->r * geo->s, pq = geo->p * geo->q, hw = geo->h * geo->w;
    const int64_t depth = geo->n * pq;
    const struct im_view view = image_view(geo);
    const int same_width = view.h == geo->h && is_same_width(geo); /* (not the 1x1 view) */
    if (depth == 0) {
        memset(grad_w, 0, (size_t)(geo->k * krs) * sizeof(CC_T));
        return 0;
    }

    const int64_t dw_size = geo->k * krs;
    const int64_t chunks = dw_size <= DW_PARTIAL_MAX_ELEMENTS
                               ? clamp64(depth / (4 * KC), 1, DW_MAX_CHUNKS) : 1;
    const int64_t chunk_depth = ceil_div(depth, chunks);
    int64_t ncw = cfg->nc / 2 / dnr * dnr;
    if (chunks * G * ceil_div(krs, ncw) < 2 * (int64_t)n_threads) {
        const int64_t blocks = ceil_div(2 * (int64_t)n_threads, chunks * G);
        ncw = clamp64(round_up(ceil_div(krs, blocks), dnr), dnr, ncw);
    }
    const int64_t col_blocks = ceil_div(krs, ncw), m_panels = ceil_div(kg, dmr);
    int64_t row_blocks = 1;
    if (chunks * G * col_blocks < n_threads)
        row_blocks = min64(m_panels, ceil_div(n_threads, chunks * G * col_blocks));
    const int64_t panels_per_block = ceil_div(m_panels, row_blocks);
    const int64_t items = chunks * G * col_blocks * row_blocks;
    CC_T *partials = NULL;
    if (chunks > 1) {
        partials = alloc64((size_t)(chunks * dw_size) * sizeof(CC_T));
        if (!partials)
            return -1;
    }
    const double flops = 2.0 * (double)(depth * geo->k) * (double)krs;
    const int nt = threads_for(items, flops, n_threads);
    const int64_t ld = round_up(min64(KC, depth), kw);
    const int64_t mc = min64(MC, round_up(kg, dmr));
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        const int64_t b_size = round_up(min64(ncw, krs), dnr) * ld, a_size = mc * ld;
        CC_T *b_rows = thread_scratch((size_t)(b_size + a_size) * sizeof(CC_T), &failed);
        CC_T *a_rows = b_rows ? b_rows + b_size : NULL;
#pragma omp for schedule(static)
        for (int64_t item = 0; item < items; item++) {
            if (!b_rows)
                continue;
            const int64_t rb = item % row_blocks, cb = (item / row_blocks) % col_blocks;
            const int64_t g = (item / (row_blocks * col_blocks)) % G;
            const int64_t chunk = item / (row_blocks * col_blocks * G);
            const int64_t j0 = cb * ncw, ncur = min64(ncw, krs - j0);
            const int64_t m0 = rb * panels_per_block * dmr;
            const int64_t m1 = min64(kg, m0 + panels_per_block * dmr);
            const int64_t d0 = chunk * chunk_depth, d1 = min64(depth, d0 + chunk_depth);
            CC_T *dw = (partials ? partials + chunk * dw_size : grad_w) + g * kg * krs + j0;
            if (m0 >= m1)
                continue;
            if (d0 >= d1) { /* an empty chunk contributes zeros */
                for (int64_t i = m0; i < m1; i++)
                    memset(dw + i * krs, 0, (size_t)ncur * sizeof(CC_T));
                continue;
            }
            for (int64_t t0 = d0; t0 < d1; t0 += KC) {
                const int64_t kc = min64(KC, d1 - t0), kcp = round_up(kc, kw);
                const int flags = t0 > d0 ? CC_GEMM_ACCUMULATE : 0;
                for (int64_t t = t0; t < t0 + kc;) { /* the images this depth block spans */
                    const int64_t n = t / pq, ti = t % pq, tn = min64(pq - ti, t0 + kc - t);
                    pack_rows_im2col(b_rows + (t - t0), kcp, x + (n * geo->c + g * cg) * hw,
                                     &view, j0, ncur, ti, tn, same_width);
                    t += tn;
                }
                zero_pad_rows(b_rows, kcp, ncur, kc, round_up(ncur, dnr));
                for (int64_t ic = m0; ic < m1; ic += mc) {
                    const int64_t mcur = min64(mc, m1 - ic);
                    for (int64_t t = t0; t < t0 + kc;) {
                        const int64_t n = t / pq, ti = t % pq, tn = min64(pq - ti, t0 + kc - t);
                        const CC_T *src = grad_y + (n * geo->k + g * kg + ic) * pq + ti;
                        for (int64_t i = 0; i < mcur; i++)
                            memcpy(a_rows + i * kcp + (t - t0), src + i * pq,
                                   (size_t)tn * sizeof(CC_T));
                        t += tn;
                    }
                    zero_pad_rows(a_rows, kcp, mcur, kc, round_up(mcur, dmr));
                    for (int64_t jr = 0; jr < ncur; jr += dnr)
                        for (int64_t ir = 0; ir < mcur; ir += dmr)
                            cfg->dot_kernel(kcp, a_rows + ir * kcp, kcp, b_rows + jr * kcp, kcp,
                                            dw + (ic + ir) * krs + jr, krs, min64(dmr, mcur - ir),
                                            min64(dnr, ncur - jr), flags);
                }
            }
        }
        free(b_rows);
    }
    if (partials) {
        const int nt_sum = threads_for(dw_size, (double)(chunks * dw_size), n_threads);
#pragma omp parallel for schedule(static) num_threads(nt_sum)
        for (int64_t i = 0; i < dw_size; i++) {
            CC_T sum = partials[i];
            for (int64_t chunk = 1; chunk < chunks; chunk++)
                sum += partials[chunk * dw_size + i];
            grad_w[i] = sum;
        }
        free(partials);
    }
    return failed ? -1 : 0;
}

/* grad_x of a stride-1 convolution as a forward convolution of dY with the flipped, transposed
 * weights W'[g, c, k, r, s] = W[g, k, c, R-1-r, S-1-s] and padding d*(R-1) - p: the forward
 * engine's long depth (Kg*R*S) and no scatter beat the col2im path once C/G is large enough
 * to fill the microkernel's rows (measured: resnet20/vgg shapes). */
#define FLIP_MIN_CHANNELS 16
/* The flipped forward computes all H*W input pixels from a padded dY: (H*W)/(P*Q) times the
 * col2im path's FLOPs, 1.96x for lenet's unpadded 5x5 conv on 14x14 (~2.5x slower there);
 * allow it only up to 5/4 of the work. */
static int flipped_data_grad_applies(const struct cc_conv_geometry *geo)
{
    return geo->stride_h == 1 && geo->stride_w == 1 && geo->c / geo->groups >= FLIP_MIN_CHANNELS &&
           geo->pad_h <= geo->dil_h * (geo->r - 1) && geo->pad_w <= geo->dil_w * (geo->s - 1) &&
           4 * geo->h * geo->w <= 5 * geo->p * geo->q;
}

/* The forward convolution that flipped_data_grad runs: dY (N, K, P, Q) -> dX (N, C, H, W). */
static struct cc_conv_geometry flipped_geometry(const struct cc_conv_geometry *geo)
{
    const struct cc_conv_geometry t = {
        geo->n, geo->k, geo->c, geo->p, geo->q, geo->h, geo->w, geo->r, geo->s, 1, 1,
        geo->dil_h * (geo->r - 1) - geo->pad_h, geo->dil_w * (geo->s - 1) - geo->pad_w,
        geo->dil_h, geo->dil_w, geo->groups};
    return t;
}

static int flipped_data_grad(CC_T *grad_x, const CC_T *grad_y, const CC_T *weight,
                             const struct cc_conv_geometry *geo, int n_threads)
{
    const int64_t G = geo->groups, cg = geo->c / G, kg = geo->k / G, rs = geo->r * geo->s;
    CC_T *flipped = alloc64((size_t)(geo->k * cg * rs) * sizeof(CC_T));
    if (!flipped)
        return -1;
    for (int64_t g = 0; g < G; g++)
        for (int64_t k = 0; k < kg; k++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t i = 0; i < rs; i++)
                    flipped[((g * cg + c) * kg + k) * rs + (rs - 1 - i)] =
                        weight[((g * kg + k) * cg + c) * rs + i];
    const struct cc_conv_geometry t = flipped_geometry(geo);
    const int status = CC_NAME(cc_conv2d_forward)(grad_x, grad_y, flipped, NULL, CC_ACT_NONE, &t,
                                                  n_threads);
    free(flipped);
    return status;
}

int CC_NAME(cc_conv2d_backward)(CC_T *grad_x, CC_T *grad_weight, CC_T *grad_bias,
                                const CC_T *grad_y, const CC_T *x, const CC_T *weight,
                                const struct cc_conv_geometry *geo, int n_threads)
{
    if (grad_bias)
        bias_grad(grad_bias, grad_y, geo, n_threads);
    if (grad_weight) {
        int done = 0;
#ifdef CC_F32_SPECIAL_CASES
        if (cc_winograd_f32_weight_grad_applies(geo)) {
            const int status = cc_winograd_f32_weight_grad(grad_weight, grad_y, x, geo, n_threads);
            if (status < 0)
                return -1;
            done = status == 0; /* else a NaN or inf: the direct gradient places it exactly */
        }
#endif
        if (!done && weight_grad(grad_weight, grad_y, x, geo, n_threads) != 0)
            return -1;
    }
    if (grad_x) {
        const int status = flipped_data_grad_applies(geo)
                               ? flipped_data_grad(grad_x, grad_y, weight, geo, n_threads)
                               : data_grad(grad_x, grad_y, weight, geo, n_threads);
        if (status != 0)
            return -1;
    }
    return 0;
}
