/* Packing routines of the implicit-GEMM convolution (included by conv-engine.h for one CC_T).
 *
 * Layout legend: C in-channels, H x W input, P x Q output, R x S filter; a GEMM "column" of
 * cols(X) is an output pixel j = p * Q + q, a GEMM "row" (depth) of it is k = (c * R + r) * S + s,
 * and cols(X)[k][j] = x[c][p * sh - ph + r * dh][q * sw - pw + s * dw] (0 outside the image).
 * Packed layouts (gemm.h): A in MR-row panels [panel][depth][MR], B in NR-column panels
 * [panel][depth][NR]; partial panels are padded with zeros so the microkernel has no edge case.
 * Walking output pixels by segments of one output row makes the valid-q range of each segment
 * a single interval, so the inner loops are straight copies (vectorised for stride 1).
 */

/* What the packers need of a convolution: one image plane geometry (the channel stride is H*W). */
struct im_view {
    int64_t h, w, p, q, r, s, sh, sw, ph, pw, dh, dw;
};

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The output columns q with 0 <= q * sw + off_w < W, as [*q_lo, *q_hi). */
static void valid_q_range(const struct im_view *v, int64_t off_w, int64_t *q_lo, int64_t *q_hi)
{
    int64_t lo = off_w >= 0 ? 0 : ceil_div(-off_w, v->sw);
    int64_t hi = v->w - 1 - off_w < 0 ? 0 : (v->w - 1 - off_w) / v->sw + 1;
    lo = clamp64(lo, 0, v->q);
    hi = clamp64(hi, lo, v->q);
    *q_lo = lo;
    *q_hi = hi;
}

/* The packers copy and zero runs of at most NR elements: keep gcc from turning those loops into
 * memcpy/memset calls, which cost as much as the rest of the packing (perf, vgg-28). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

/* d[u * d_stride] = plane[row_base + (q + u) * sw] for u < n where q + u is in [q_lo, q_hi),
 * else 0 (padding); only in-range elements are read. */
static inline void put_run(CC_T *restrict d, int64_t d_stride, const CC_T *restrict plane,
                           int64_t row_base, int64_t q, int64_t n, int64_t q_lo, int64_t q_hi,
                           int64_t sw)
{
    const int64_t a = clamp64(q_lo - q, 0, n), b = clamp64(q_hi - q, a, n);
    if (d_stride == 1) {
        for (int64_t u = 0; u < a; u++)
            d[u] = 0;
        if (sw == 1 && b > a) {
            const CC_T *restrict src = plane + row_base + q;
            for (int64_t u = a; u < b; u++)
                d[u] = src[u];
        } else {
            for (int64_t u = a; u < b; u++)
                d[u] = plane[row_base + (q + u) * sw];
        }
        for (int64_t u = b; u < n; u++)
            d[u] = 0;
    } else {
        for (int64_t u = 0; u < a; u++)
            d[u * d_stride] = 0;
        for (int64_t u = a; u < b; u++)
            d[u * d_stride] = plane[row_base + (q + u) * sw];
        for (int64_t u = b; u < n; u++)
            d[u * d_stride] = 0;
    }
}

/* B block of the forward GEMM: cols(X) rows [k0, k0 + kc) x pixels [j0, j0 + nc) of one image
 * (x: its C/G channel planes), into NR-column panels [panel][kc][nr]. */
static void pack_b_im2col(CC_T *restrict dst, const CC_T *restrict x, const struct im_view *v,
                          int64_t k0, int64_t kc, int64_t j0, int64_t nc, int64_t nr)
{
    const int64_t hw = v->h * v->w, rs = v->r * v->s, panel = kc * nr;
    int64_t c = k0 / rs, r = (k0 % rs) / v->s, s = k0 % v->s;
    for (int64_t kk = 0; kk < kc; kk++) {
        const CC_T *restrict plane = x + c * hw;
        const int64_t off_h = r * v->dh - v->ph, off_w = s * v->dw - v->pw;
        int64_t q_lo, q_hi;
        valid_q_range(v, off_w, &q_lo, &q_hi);
        CC_T *restrict drow = dst + kk * nr;
        int64_t j = j0, p = j0 / v->q, q = j0 % v->q;
        while (j < j0 + nc) {
            const int64_t seg = min64(v->q - q, j0 + nc - j);
            const int64_t ih = p * v->sh + off_h;
            const int ih_ok = ih >= 0 && ih < v->h;
            for (int64_t done = 0; done < seg;) {
                const int64_t jj = j - j0 + done;
                const int64_t run = min64(seg - done, nr - jj % nr);
                CC_T *restrict d = drow + (jj / nr) * panel + jj % nr;
                put_run(d, 1, plane, ih * v->w + off_w, q + done, run, ih_ok ? q_lo : 0,
                        ih_ok ? q_hi : 0, v->sw);
                done += run;
            }
            j += seg;
            p++;
            q = 0;
        }
        for (int64_t jj = nc; jj < round_up(nc, nr); jj++)
            drow[(jj / nr) * panel + jj % nr] = 0;
        if (++s == v->s) {
            s = 0;
            if (++r == v->r) {
                r = 0;
                c++;
            }
        }
    }
}

/* B block of the weight-gradient GEMM: cols(X) transposed, depth = pixels [t0, t0 + tn) of one
 * image, columns = GEMM rows [j0, j0 + ncw) of cols(X), written at depth rows
 * [d_off, d_off + tn) of NR-column panels [panel][kc][nr]. */
static void pack_bt_im2col(CC_T *restrict dst, const CC_T *restrict x, const struct im_view *v,
                           int64_t j0, int64_t ncw, int64_t t0, int64_t tn, int64_t d_off,
                           int64_t kc, int64_t nr)
{
    const int64_t hw = v->h * v->w, rs = v->r * v->s, panel = kc * nr;
    for (int64_t jj = 0; jj < round_up(ncw, nr); jj++) {
        CC_T *restrict dcol = dst + (jj / nr) * panel + d_off * nr + jj % nr;
        if (jj >= ncw) {
            for (int64_t t = 0; t < tn; t++)
                dcol[t * nr] = 0;
            continue;
        }
        const int64_t k = j0 + jj, c = k / rs, r = (k % rs) / v->s, s = k % v->s;
        const CC_T *restrict plane = x + c * hw;
        const int64_t off_h = r * v->dh - v->ph, off_w = s * v->dw - v->pw;
        int64_t q_lo, q_hi;
        valid_q_range(v, off_w, &q_lo, &q_hi);
        int64_t t = t0, p = t0 / v->q, q = t0 % v->q;
        while (t < t0 + tn) {
            const int64_t seg = min64(v->q - q, t0 + tn - t);
            const int64_t ih = p * v->sh + off_h;
            const int ih_ok = ih >= 0 && ih < v->h;
            put_run(dcol + (t - t0) * nr, nr, plane, ih * v->w + off_w, q, seg,
                    ih_ok ? q_lo : 0, ih_ok ? q_hi : 0, v->sw);
            t += seg;
            p++;
            q = 0;
        }
    }
}

/* dX += col2im(dcols): the data-gradient tile (rows = GEMM rows of cols(X) starting at channel
 * 0 of `dx`, columns = pixels [j0, j0 + nc), row stride ld) added into the image planes. */
static void col2im_add(CC_T *restrict dx, const CC_T *restrict dcols, int64_t ld, int64_t rows,
                       const struct im_view *v, int64_t j0, int64_t nc)
{
    const int64_t hw = v->h * v->w, rs = v->r * v->s;
    for (int64_t i = 0; i < rows; i++) {
        const int64_t c = i / rs, r = (i % rs) / v->s, s = i % v->s;
        CC_T *restrict plane = dx + c * hw;
        const CC_T *restrict src = dcols + i * ld;
        const int64_t off_h = r * v->dh - v->ph, off_w = s * v->dw - v->pw;
        int64_t q_lo, q_hi;
        valid_q_range(v, off_w, &q_lo, &q_hi);
        int64_t j = j0, p = j0 / v->q, q = j0 % v->q;
        while (j < j0 + nc) {
            const int64_t seg = min64(v->q - q, j0 + nc - j);
            const int64_t ih = p * v->sh + off_h;
            if (ih >= 0 && ih < v->h) {
                const int64_t a = clamp64(q_lo - q, 0, seg), b = clamp64(q_hi - q, a, seg);
                const CC_T *restrict s_run = src + (j - j0);
                if (v->sw == 1) {
                    CC_T *restrict d_run = plane + ih * v->w + off_w + q;
                    for (int64_t u = a; u < b; u++)
                        d_run[u] += s_run[u];
                } else {
                    for (int64_t u = a; u < b; u++)
                        plane[ih * v->w + (q + u) * v->sw + off_w] += s_run[u];
                }
            }
            j += seg;
            p++;
            q = 0;
        }
    }
}

/* A of a GEMM into MR-row panels: element (row i, depth d) is src[i * row_stride + d * col_stride]
 * for rows [0, rows) and depth [d0, d0 + dn), written at depth [d_off, d_off + dn) of panels
 * [panel][kc][mr]; rows up to round_up(rows, mr) are zero. */
static void pack_a(CC_T *restrict dst, const CC_T *restrict src, int64_t row_stride,
                   int64_t col_stride, int64_t rows, int64_t d0, int64_t dn, int64_t d_off,
                   int64_t kc, int64_t mr)
{
    for (int64_t pan = 0; pan < ceil_div(rows, mr); pan++) {
        CC_T *restrict dp = dst + pan * kc * mr + d_off * mr;
        for (int64_t i = 0; i < mr; i++) {
            const int64_t row = pan * mr + i;
            if (row >= rows) {
                for (int64_t d = 0; d < dn; d++)
                    dp[d * mr + i] = 0;
                continue;
            }
            const CC_T *restrict s = src + row * row_stride + d0 * col_stride;
            for (int64_t d = 0; d < dn; d++)
                dp[d * mr + i] = s[d * col_stride];
        }
    }
}
