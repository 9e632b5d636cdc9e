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

#include "blocking.h"

/* What the packers need of a convolution: one image plane geometry (the channel stride is H*W). */
struct im_view {
    int64_t h, w, p, q, r, s, sh, sw, ph, pw, dh, dw;
};


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

/* d[u] = src[u] for u < n: fixed-size copies only (inline vector moves), the last one
 * overlapping the one before it, so a short run (an output row of 10 pixels, say) costs two
 * moves instead of a scalar loop (which was 40 % of lenet's second conv). */
static inline void copy_short(CC_T *restrict d, const CC_T *restrict src, int64_t n)
{
    const size_t bytes = (size_t)n * sizeof(CC_T);
    char *restrict to = (char *)d;
    const char *restrict from = (const char *)src;
#define COPY_OVERLAPPING(size)                                                                   \
    if (bytes >= (size)) {                                                                       \
        for (size_t done = 0; done + (size) < bytes; done += (size))                             \
            memcpy(to + done, from + done, (size));                                              \
        memcpy(to + bytes - (size), from + bytes - (size), (size));                              \
        return;                                                                                  \
    }
    COPY_OVERLAPPING(32)
    COPY_OVERLAPPING(16)
    COPY_OVERLAPPING(8)
#undef COPY_OVERLAPPING
    if (n > 0)
        d[0] = src[0];
}

static const CC_T zeros[CC_GEMM_MAX_NR] = {0};

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
            copy_short(d + a, plane + row_base + q + a, b - a);
        } else if (sw == 2 && b > a) { /* a constant stride vectorises (shuffles), a variable
                                        * one does not: 42 % of a stride-2 conv was packing */
            const CC_T *restrict src = plane + row_base + 2 * q;
            for (int64_t u = a; u < b; u++)
                d[u] = src[2 * u];
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

/* A run of output pixels inside one output row (and inside one NR panel when packing B): the
 * unit the packers copy. The runs of a pixel range are the same for every GEMM row (c, r, s),
 * so they are listed once per block; per row only the bounds checks remain. */
struct pixel_run {
    int32_t dst; /* offset of the run's first element in the packed row */
    int32_t p, q, n;
};
#define CC_MAX_RUNS(nc) (2 * (nc) + 2)

/* Runs of pixels [j0, j0 + nc): split at output-row ends and, if nr > 0, at NR-panel ends
 * (dst = panel * panel_stride + column in panel); else dst = pixel - j0. */
static int64_t pixel_runs(struct pixel_run *runs, const struct im_view *v, int64_t j0,
                          int64_t nc, int64_t nr, int64_t panel_stride)
{
    int64_t count = 0, j = j0, p = j0 / v->q, q = j0 % v->q;
    while (j < j0 + nc) {
        const int64_t seg = min64(v->q - q, j0 + nc - j);
        for (int64_t done = 0; done < seg;) {
            const int64_t jj = j - j0 + done;
            const int64_t run = nr > 0 ? min64(seg - done, nr - jj % nr) : seg - done;
            const int64_t dst = nr > 0 ? (jj / nr) * panel_stride + jj % nr : jj;
            runs[count++] = (struct pixel_run){(int32_t)dst, (int32_t)p, (int32_t)(q + done),
                                               (int32_t)run};
            done += run;
        }
        j += seg;
        p++;
        q = 0;
    }
    return count;
}

/* d[u] = src[u] for u < n <= nr; a whole panel row is a fixed-size copy (inline vector moves). */
static inline void copy_run(CC_T *restrict d, const CC_T *restrict src, int64_t n, int64_t nr)
{
    if (n == nr) {
        switch (nr) {
        case 8: memcpy(d, src, 8 * sizeof(CC_T)); return;
        case 16: memcpy(d, src, 16 * sizeof(CC_T)); return;
        case 32: memcpy(d, src, 32 * sizeof(CC_T)); return;
        }
    }
    copy_short(d, src, n);
}

/* B block of a plain row-major matrix (rows [k0, k0 + kc), columns [j0, j0 + nc), row stride
 * ld) into NR-column panels [panel][kc][nr]: dY for the data gradient, and the image itself for
 * a 1x1 stride-1 unpadded convolution. Whole panels are fixed-size copies. */
static void pack_b_plain(CC_T *restrict dst, const CC_T *restrict src, int64_t ld, int64_t k0,
                         int64_t kc, int64_t j0, int64_t nc, int64_t nr)
{
    const int64_t full = nc / nr * nr, panel = kc * nr;
    for (int64_t kk = 0; kk < kc; kk++) {
        const CC_T *restrict row = src + (k0 + kk) * ld + j0;
        CC_T *restrict drow = dst + kk * nr;
        for (int64_t jj = 0; jj < full; jj += nr)
            copy_run(drow + (jj / nr) * panel, row + jj, nr, nr);
        if (full < nc) {
            CC_T *restrict d = drow + (full / nr) * panel;
            for (int64_t u = 0; u < nc - full; u++)
                d[u] = row[full + u];
            for (int64_t u = nc - full; u < nr; u++)
                d[u] = 0;
        }
    }
}

/* Stride 1 with Q == W (the usual "same" padding): output pixel j = p*W + q reads input pixel
 * j + shift, shift = (r*dh - ph)*W + s*dw - pw, the same for every pixel. So a packed row is a
 * shifted copy of the flattened plane (zeros outside it, i.e. the top/bottom padding), and
 * only the |s*dw - pw| columns of each row that would wrap into the neighbouring row are
 * zeroed afterwards. Caller guarantees stride 1, q == w and |s*dw - pw| < w for every s. */
static void pack_b_same_width(CC_T *restrict dst, const CC_T *restrict x,
                              const struct im_view *v, int64_t k0, int64_t kc, int64_t j0,
                              int64_t nc, int64_t nr)
{
    const int64_t hw = v->h * v->w, rs = v->r * v->s, panel = kc * nr;
    const int64_t nc_pad = round_up(nc, nr), j_end = j0 + nc;
    const int64_t p_first = j0 / v->w, p_last = (j_end - 1) / v->w;
    int64_t c = k0 / rs, r = (k0 % rs) / v->s, s = k0 % v->s;
    for (int64_t kk = 0; kk < kc; kk++) {
        const CC_T *restrict plane = x + c * hw;
        const int64_t col_shift = s * v->dw - v->pw;
        const int64_t shift = (r * v->dh - v->ph) * v->w + col_shift;
        const int64_t lo = clamp64(-shift, j0, j_end), hi = clamp64(hw - shift, lo, j_end);
        CC_T *restrict drow = dst + kk * nr;
        for (int64_t jj = 0; jj < nc_pad; jj += nr) {
            CC_T *restrict d = drow + (jj / nr) * panel;
            const int64_t a = j0 + jj;
            if (a >= lo && a + nr <= hi) {
                copy_run(d, plane + a + shift, nr, nr);
            } else {
                for (int64_t u = 0; u < nr; u++)
                    d[u] = (a + u >= lo && a + u < hi) ? plane[a + u + shift] : 0;
            }
        }
        if (col_shift != 0) { /* the columns that wrapped into the next or previous row */
            const int64_t q0 = col_shift < 0 ? 0 : v->w - col_shift;
            const int64_t q1 = col_shift < 0 ? -col_shift : v->w;
            for (int64_t p = p_first; p <= p_last; p++) {
                const int64_t a = max64(p * v->w + q0, j0), b = min64(p * v->w + q1, j_end);
                int64_t pnl = (a - j0) / nr, col = (a - j0) % nr; /* one division per row */
                for (int64_t j = a; j < b; j++) {
                    drow[pnl * panel + col] = 0;
                    if (++col == nr) {
                        col = 0;
                        pnl++;
                    }
                }
            }
        }
        if (++s == v->s) {
            s = 0;
            if (++r == v->r) {
                r = 0;
                c++;
            }
        }
    }
}

/* One run of a packed im2col row (filter tap offsets off_h, off_w; valid output columns
 * [q_lo, q_hi)): zeros where the input row is padding, a straight copy when the whole run is
 * inside the image (nr: the panel width, so a full panel row is one fixed-size move; 0 if the
 * rows are not panels), else put_run's bounds-checked copy. */
static inline void pack_pixel_run(CC_T *restrict d, const CC_T *restrict plane,
                                  const struct im_view *v, struct pixel_run run, int64_t off_h,
                                  int64_t off_w, int64_t q_lo, int64_t q_hi, int64_t nr)
{
    const int64_t ih = run.p * v->sh + off_h;
    if (ih < 0 || ih >= v->h) {
        for (int64_t u = 0; u < run.n; u++)
            d[u] = 0;
    } else if (v->sw == 1 && run.q >= q_lo && run.q + run.n <= q_hi) {
        copy_run(d, plane + ih * v->w + run.q + off_w, run.n, nr);
    } else {
        put_run(d, 1, plane, ih * v->w + off_w, run.q, run.n, q_lo, q_hi, v->sw);
    }
}

/* B block of the forward GEMM: cols(X) rows [k0, k0 + kc) x pixels [j0, j0 + nc) of one image
 * (x: its C/G channel planes), into NR-column panels [panel][kc][nr]; nc <= max_nc. */
static void pack_b_im2col(CC_T *restrict dst, const CC_T *restrict x, const struct im_view *v,
                          int64_t k0, int64_t kc, int64_t j0, int64_t nc, int64_t nr)
{
    struct pixel_run runs[CC_MAX_RUNS(CC_GEMM_MAX_NC)];
    const int64_t n_runs = pixel_runs(runs, v, j0, nc, nr, kc * nr);
    const int64_t hw = v->h * v->w, rs = v->r * v->s, panel = kc * nr;
    int64_t c = k0 / rs, r = (k0 % rs) / v->s, s = k0 % v->s;
    for (int64_t kk = 0; kk < kc; kk++) {
        const CC_T *restrict plane = x + c * hw;
        const int64_t off_h = r * v->dh - v->ph, off_w = s * v->dw - v->pw;
        int64_t q_lo, q_hi;
        valid_q_range(v, off_w, &q_lo, &q_hi);
        CC_T *restrict drow = dst + kk * nr;
        for (int64_t i = 0; i < n_runs; i++)
            pack_pixel_run(drow + runs[i].dst, plane, v, runs[i], off_h, off_w, q_lo, q_hi, nr);
        if (nc % nr) /* the last panel's lanes past nc: zeros (the same moves as a short copy) */
            copy_short(drow + (nc / nr) * panel + nc % nr, zeros, nr - nc % nr);
        if (++s == v->s) {
            s = 0;
            if (++r == v->r) {
                r = 0;
                c++;
            }
        }
    }
}

/* Rows [k0, k0 + rows) of cols(X) over pixels [t0, t0 + tn) of one image, row-major:
 * dst[kk * ld + (t - t0)] (the weight gradient's B^T operand: contiguous along the pixels).
 * same_width: the conditions of pack_b_same_width hold. */
static void pack_rows_im2col(CC_T *restrict dst, int64_t ld, const CC_T *restrict x,
                             const struct im_view *v, int64_t k0, int64_t rows, int64_t t0,
                             int64_t tn, int same_width)
{
    struct pixel_run runs[CC_MAX_RUNS(CC_GEMM_MAX_NC)];
    const int64_t n_runs = same_width ? 0 : pixel_runs(runs, v, t0, tn, 0, 0);
    const int64_t hw = v->h * v->w, rs = v->r * v->s, t_end = t0 + tn;
    int64_t c = k0 / rs, r = (k0 % rs) / v->s, s = k0 % v->s;
    for (int64_t kk = 0; kk < rows; kk++) {
        const CC_T *restrict plane = x + c * hw;
        const int64_t off_h = r * v->dh - v->ph, off_w = s * v->dw - v->pw;
        CC_T *restrict drow = dst + kk * ld;
        if (same_width) { /* see pack_b_same_width: a shifted copy, wrapped columns zeroed */
            const int64_t shift = off_h * v->w + off_w;
            const int64_t lo = clamp64(-shift, t0, t_end), hi = clamp64(hw - shift, lo, t_end);
            for (int64_t t = t0; t < lo; t++)
                drow[t - t0] = 0;
            for (int64_t t = lo; t < hi; t++)
                drow[t - t0] = plane[t + shift];
            for (int64_t t = hi; t < t_end; t++)
                drow[t - t0] = 0;
            if (off_w != 0) {
                const int64_t q0 = off_w < 0 ? 0 : v->w - off_w, q1 = off_w < 0 ? -off_w : v->w;
                for (int64_t p = t0 / v->w; p <= (t_end - 1) / v->w; p++)
                    for (int64_t t = max64(p * v->w + q0, t0); t < min64(p * v->w + q1, t_end); t++)
                        drow[t - t0] = 0;
            }
        }
        int64_t q_lo, q_hi;
        valid_q_range(v, off_w, &q_lo, &q_hi);
        for (int64_t i = 0; i < n_runs; i++)
            pack_pixel_run(drow + runs[i].dst, plane, v, runs[i], off_h, off_w, q_lo, q_hi, 0);
        if (++s == v->s) {
            s = 0;
            if (++r == v->r) {
                r = 0;
                c++;
            }
        }
    }
}

/* Zero columns [cols, ld) of rows [0, rows) and all of rows [rows, rows_pad) of a row-major
 * block: the padding the dot microkernel reads. */
static void zero_pad_rows(CC_T *restrict m, int64_t ld, int64_t rows, int64_t cols,
                          int64_t rows_pad)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t t = cols; t < ld; t++)
            m[i * ld + t] = 0;
    for (int64_t i = rows; i < rows_pad; i++)
        for (int64_t t = 0; t < ld; t++)
            m[i * ld + t] = 0;
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
