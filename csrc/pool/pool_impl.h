/* Pooling kernels, written once and compiled per ISA (pool.c, pool-avx2.c, pool-avx512.c: same
 * code, the flags differ) and per dtype: the includer defines ISA and includes this file with
 * REAL/TAG = float/f32, then double/f64. No intrinsics: the inner loops are written so that gcc
 * vectorises them (measured at memory speed, see dev/bench_pool.py).
 *
 * Legend: N batch, C channels, H x W input plane, P x Q output plane, R x S window,
 * (sh, sw) stride, (ph, pw) padding; planes = N*C.
 *
 * Loop order: planes (OpenMP, static) -> output rows p -> window taps (r, s) -> output columns q.
 * The innermost loop runs along q with a constant stride through x, so it vectorises over 8 or 16
 * outputs; each output's running max/argmax (or sum) lives in a per-thread row buffer of Q values.
 * Columns whose window crosses the left or right padding (a few per row) take a scalar loop.
 * Non-overlapping windows without padding (stride == window, the common 2x2/2 case) have their
 * own loops: the forward reads each input once, the backward writes each gradient once (no zero
 * fill, no read-modify-write).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#ifdef __AVX2__
#include "pool_2x2_avx2.h"
#endif

#define CC_CAT3_(a, b, c) a##_##b##_##c
#define CC_CAT3(a, b, c) CC_CAT3_(a, b, c)
#define FN(name) CC_CAT3(name, TAG, ISA)

#ifndef CC_POOL_IMPL_ONCE
#define CC_POOL_IMPL_ONCE
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define CC_PRAGMA(x) _Pragma(#x)
/* Rows are short (Q = 16 for a 32-wide input): ask for 8 lanes, or gcc picks 32 for the loops
 * that store uint8 and never enters its vector loop. */
#define SIMD_ROW CC_PRAGMA(omp simd simdlen(8))

/* Below this many input values a call runs on one thread (thread start-up costs more). */
#define CC_POOL_PARALLEL_MIN 32768

static int pool_threads(int n_threads, int64_t planes, int64_t values)
{
    if (values < CC_POOL_PARALLEL_MIN || n_threads < 1)
        return 1;
    return planes < n_threads ? (int)planes : n_threads;
}

/* Output columns [qa, qb) whose window lies inside the row (no padding, no clipping). */
static void interior_columns(const cc_pool_shape *g, int64_t *qa, int64_t *qb)
{
    int64_t a = (g->pw + g->sw - 1) / g->sw;
    int64_t last_start = g->w - g->s + g->pw; /* q*sw <= this for a window inside the row */
    int64_t b = last_start < 0 ? 0 : last_start / g->sw + 1;
    if (a > g->q)
        a = g->q;
    if (b > g->q)
        b = g->q;
    if (b < a)
        b = a;
    *qa = a;
    *qb = b;
}

/* The window rows [r0, r1) and columns [s0, s1) that lie inside the plane. */
ALWAYS_INLINE void clip_window(int64_t start, int size, int64_t extent, int *k0, int *k1)
{
    *k0 = start < 0 ? (int)-start : 0;
    *k1 = start + size > extent ? (int)(extent - start) : size;
}

static int non_overlapping(const cc_pool_shape *g)
{
    return g->sh == g->r && g->sw == g->s && g->ph == 0 && g->pw == 0;
}

static void store_argmax(void *argmax, int argmax_bytes, int64_t at, const int32_t *arg,
                         int64_t n)
{
    if (argmax_bytes == 1) {
        uint8_t *out = (uint8_t *)argmax + at;
        for (int64_t i = 0; i < n; i++)
            out[i] = (uint8_t)arg[i];
    } else if (argmax_bytes == 4) {
        memcpy((int32_t *)argmax + at, arg, (size_t)n * sizeof(int32_t));
    }
}

static int32_t load_argmax(const void *argmax, int argmax_bytes, int64_t at)
{
    return argmax_bytes == 1 ? ((const uint8_t *)argmax)[at] : ((const int32_t *)argmax)[at];
}
#endif /* CC_POOL_IMPL_ONCE */

/* v replaces the running maximum: greater, or the first NaN (NaN counts as the maximum). */
ALWAYS_INLINE int FN(beats)(REAL v, REAL best) { return v > best || (v != v && best == best); }

/* ---------------------------------------------------------------------------------------- */
/* Max pooling                                                                              */
/* ---------------------------------------------------------------------------------------- */

/* One tap (r, s) of a row of interior windows: n outputs, x stride `stride` between them. */
ALWAYS_INLINE void FN(max_tap)(REAL *restrict best, int32_t *restrict arg,
                               const REAL *restrict xs, int64_t n, int64_t stride, int32_t k)
{
    for (int64_t i = 0; i < n; i++) {
        REAL v = xs[i * stride];
        int take = FN(beats)(v, best[i]);
        best[i] = take ? v : best[i];
        arg[i] = take ? k : arg[i];
    }
}

static void FN(max_tap_any)(REAL *restrict best, int32_t *restrict arg, const REAL *restrict xs,
                            int64_t n, int64_t stride, int32_t k)
{
    if (stride == 1)
        FN(max_tap)(best, arg, xs, n, 1, k);
    else if (stride == 2)
        FN(max_tap)(best, arg, xs, n, 2, k);
    else
        FN(max_tap)(best, arg, xs, n, stride, k);
}

/* Per-thread row scratch: a padded row ((Q-1)*sw + S <= W + 2pw values; S more for safety),
 * then the two stride-2 phases (2 * (Q + S)). */
static size_t FN(row_scratch_bytes)(const cc_pool_shape *g)
{
    return (size_t)(g->w + 2 * g->pw + g->s + 2 * (g->q + g->s)) * sizeof(REAL);
}

/* row[j - pw] for j in [0, (Q-1)*sw + S): one input row with its padding filled in, so every
 * output column is an interior one (full-length vector loops, no scalar edge windows). */
static void FN(pad_row)(REAL *restrict padded, const REAL *restrict row, const cc_pool_shape *g,
                        REAL fill)
{
    const int64_t length = (g->q - 1) * g->sw + g->s;
    const int64_t copied = length - g->pw < g->w ? length - g->pw : g->w;
    for (int64_t j = 0; j < g->pw; j++)
        padded[j] = fill;
    memcpy(padded + g->pw, row, (size_t)copied * sizeof(REAL));
    for (int64_t j = g->pw + copied; j < length; j++)
        padded[j] = fill;
}

/* Stride 2: split a (padded) row of length (Q-1)*2 + S into its even and odd elements, so tap
 * s reads phase[s % 2] + s / 2 with unit stride (gcc's stride-2 gathers shuffle a lot; measured
 * 1.5x slower on 3x3/2 windows). phase holds 2 * (Q + S) values. */
static const REAL *FN(split_phases)(REAL *restrict phase, const REAL *restrict row,
                                    const cc_pool_shape *g)
{
    const int64_t length = (g->q - 1) * 2 + g->s, half = g->q + g->s;
    REAL *restrict even = phase, *restrict odd = phase + half;
    for (int64_t j = 0; 2 * j < length; j++)
        even[j] = row[2 * j];
    for (int64_t j = 0; 2 * j + 1 < length; j++)
        odd[j] = row[2 * j + 1];
    return phase;
}

static void FN(max_pool_plane)(REAL *restrict y, void *argmax, int argmax_bytes, int64_t at,
                               const REAL *restrict x, const cc_pool_shape *g,
                               REAL *restrict best, int32_t *restrict arg, REAL *restrict padded)
{
    int64_t qa, qb;
    interior_columns(g, &qa, &qb);
    const int edges = qa > 0 || qb < g->q; /* some windows cross the left/right padding */
    for (int64_t op = 0; op < g->p; op++) {
        const int64_t hs = op * g->sh - g->ph;
        int r0, r1;
        clip_window(hs, g->r, g->h, &r0, &r1);
        for (int64_t oq = 0; oq < g->q; oq++) {
            best[oq] = -INFINITY;
            arg[oq] = r0 * g->s;
        }
        for (int r = r0; r < r1; r++) {
            const REAL *row = x + (hs + r) * g->w - g->pw; /* pw == 0 when there are no edges */
            if (edges) {
                FN(pad_row)(padded, x + (hs + r) * g->w, g, -INFINITY);
                row = padded;
            }
            if (g->sw == 2) {
                const REAL *phase = FN(split_phases)(padded + g->w + 2 * g->pw + g->s, row, g);
                const int64_t half = g->q + g->s;
                for (int s = 0; s < g->s; s++)
                    FN(max_tap)(best, arg, phase + (s & 1) * half + (s >> 1), g->q, 1,
                                r * g->s + s);
            } else {
                for (int s = 0; s < g->s; s++)
                    FN(max_tap_any)(best, arg, row + s, g->q, g->sw, r * g->s + s);
            }
        }
        memcpy(y + op * g->q, best, (size_t)g->q * sizeof(REAL));
        store_argmax(argmax, argmax_bytes, at + op * g->q, arg, g->q);
    }
}

/* 2x2 windows, stride 2, no padding: the hot case, one pass over two input rows. AVX2 builds
 * do float32 rows with intrinsics (pool_2x2_avx2.h); this loop finishes them and does the rest. */
static void FN(max_pool_2x2_plane)(REAL *restrict y, uint8_t *restrict argmax,
                                   const REAL *restrict x, const cc_pool_shape *g)
{
    for (int64_t op = 0; op < g->p; op++) {
        const REAL *restrict x0 = x + 2 * op * g->w;
        const REAL *restrict x1 = x0 + g->w;
        REAL *restrict yr = y + op * g->q;
        uint8_t *restrict ar = argmax ? argmax + op * g->q : NULL;
        int64_t oq = 0;
#ifdef __AVX2__
        if (sizeof(REAL) == sizeof(float))
            oq = max_pool_2x2_row_f32_avx2((float *)yr, ar, (const float *)x0,
                                           (const float *)x1, g->q);
#endif
        for (; oq < g->q; oq++) {
            REAL a = x0[2 * oq], b = x0[2 * oq + 1], c = x1[2 * oq], d = x1[2 * oq + 1];
            int top = FN(beats)(b, a), bottom = FN(beats)(d, c);
            REAL m0 = top ? b : a, m1 = bottom ? d : c;
            int lower = FN(beats)(m1, m0);
            yr[oq] = lower ? m1 : m0;
            if (ar)
                ar[oq] = (uint8_t)(lower ? 2 + bottom : top);
        }
    }
}

void FN(cc_max_pool2d)(REAL *y, void *argmax, int argmax_bytes, const REAL *x,
                       const cc_pool_shape *g, int n_threads)
{
    const int64_t hw = g->h * g->w, pq = g->p * g->q;
    const int hot = g->r == 2 && g->s == 2 && non_overlapping(g) && argmax_bytes != 4;
    n_threads = pool_threads(n_threads, g->planes, g->planes * hw);
#pragma omp parallel num_threads(n_threads)
    {
        REAL *best = hot ? NULL : malloc((size_t)g->q * sizeof(REAL));
        int32_t *arg = hot ? NULL : malloc((size_t)g->q * sizeof(int32_t));
        REAL *padded = hot ? NULL : malloc(FN(row_scratch_bytes)(g));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->planes; i++) {
            if (hot)
                FN(max_pool_2x2_plane)(y + i * pq, argmax ? (uint8_t *)argmax + i * pq : NULL,
                                       x + i * hw, g);
            else
                FN(max_pool_plane)(y + i * pq, argmax, argmax_bytes, i * pq, x + i * hw, g,
                                   best, arg, padded);
        }
        free(best);
        free(arg);
        free(padded);
    }
}

/* Non-overlapping windows without padding: every gradient value is written exactly once. */
ALWAYS_INLINE void FN(max_unpool_row)(REAL *restrict gxr, const REAL *restrict gyr,
                                      const uint8_t *restrict a8, const int32_t *restrict a32,
                                      int64_t q, int s_size, int32_t k_row)
{
    SIMD_ROW
    for (int64_t oq = 0; oq < q; oq++) {
        REAL g = gyr[oq];
        int32_t k = a8 ? a8[oq] : a32[oq];
        for (int s = 0; s < s_size; s++)
            gxr[oq * s_size + s] = k == k_row + s ? g : (REAL)0;
    }
}

/* The 2-wide case with uint8 argmax (2x2 windows): whole groups of 8 outputs in the vector loop,
 * the last q % 8 through small zero-padded buffers (a scalar remainder made a 28-wide plane 3x
 * slower per byte than a 32-wide one). */
static void FN(max_unpool_row_2)(REAL *restrict gxr, const REAL *restrict gyr,
                                 const uint8_t *restrict a8, int64_t q, int32_t k_row)
{
    const int64_t full = q / 8 * 8, rest = q - full;
    FN(max_unpool_row)(gxr, gyr, a8, NULL, full, 2, k_row);
    if (rest) {
        REAL g_tail[8] = {0}, out[16];
        uint8_t a_tail[8] = {0};
        memcpy(g_tail, gyr + full, (size_t)rest * sizeof(REAL));
        memcpy(a_tail, a8 + full, (size_t)rest);
        FN(max_unpool_row)(out, g_tail, a_tail, NULL, 8, 2, k_row);
        memcpy(gxr + 2 * full, out, (size_t)(2 * rest) * sizeof(REAL));
    }
}

static void FN(max_pool_backward_disjoint_plane)(REAL *restrict gx, const REAL *restrict gy,
                                                 const void *argmax, int argmax_bytes,
                                                 int64_t at, const cc_pool_shape *g)
{
    const int64_t covered_w = g->q * g->s;
    for (int64_t op = 0; op < g->p; op++) {
        const uint8_t *a8 = argmax_bytes == 1 ? (const uint8_t *)argmax + at + op * g->q : NULL;
        const int32_t *a32 = argmax_bytes == 4 ? (const int32_t *)argmax + at + op * g->q : NULL;
        for (int r = 0; r < g->r; r++) {
            REAL *gxr = gx + (op * g->r + r) * g->w;
            if (g->s == 2 && a8)
                FN(max_unpool_row_2)(gxr, gy + op * g->q, a8, g->q, r * 2);
            else
                FN(max_unpool_row)(gxr, gy + op * g->q, a8, a32, g->q, g->s, r * g->s);
            for (int64_t w = covered_w; w < g->w; w++)
                gxr[w] = 0;
        }
    }
    const int64_t covered_h = g->p * g->r;
    memset(gx + covered_h * g->w, 0, (size_t)((g->h - covered_h) * g->w) * sizeof(REAL));
}

void FN(cc_max_pool2d_backward)(REAL *gx, const REAL *gy, const void *argmax, int argmax_bytes,
                                const cc_pool_shape *g, int n_threads)
{
    const int64_t hw = g->h * g->w, pq = g->p * g->q;
    const int disjoint = non_overlapping(g);
    n_threads = pool_threads(n_threads, g->planes, g->planes * hw);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < g->planes; i++) {
        REAL *plane = gx + i * hw;
        if (disjoint) {
            FN(max_pool_backward_disjoint_plane)(plane, gy + i * pq, argmax, argmax_bytes,
                                                 i * pq, g);
            continue;
        }
        memset(plane, 0, (size_t)hw * sizeof(REAL));
        for (int64_t op = 0; op < g->p; op++)
            for (int64_t oq = 0; oq < g->q; oq++) {
                int32_t k = load_argmax(argmax, argmax_bytes, i * pq + op * g->q + oq);
                int32_t r = k / g->s, s = k - r * g->s;
                int64_t h = op * g->sh - g->ph + r, w = oq * g->sw - g->pw + s;
                /* an argmax the forward can't produce must not write out of bounds */
                if (k < 0 || r >= g->r || h < 0 || h >= g->h || w < 0 || w >= g->w)
                    continue;
                plane[h * g->w + w] += gy[i * pq + op * g->q + oq];
            }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Average pooling                                                                          */
/* ---------------------------------------------------------------------------------------- */

ALWAYS_INLINE void FN(sum_tap)(REAL *restrict sum, const REAL *restrict xs, int64_t n,
                               int64_t stride)
{
    for (int64_t i = 0; i < n; i++)
        sum[i] += xs[i * stride];
}

static void FN(sum_tap_any)(REAL *restrict sum, const REAL *restrict xs, int64_t n,
                            int64_t stride)
{
    if (stride == 1)
        FN(sum_tap)(sum, xs, n, 1);
    else if (stride == 2)
        FN(sum_tap)(sum, xs, n, 2);
    else
        FN(sum_tap)(sum, xs, n, stride);
}

/* 1 / divisor of a window starting at (hs, ws): R*S, or the count of real pixels in it. */
static REAL FN(avg_scale)(const cc_pool_shape *g, int64_t hs, int64_t ws, int count_include_pad)
{
    if (count_include_pad)
        return (REAL)1 / (REAL)(g->r * g->s);
    int r0, r1, s0, s1;
    clip_window(hs, g->r, g->h, &r0, &r1);
    clip_window(ws, g->s, g->w, &s0, &s1);
    return (REAL)1 / (REAL)((r1 - r0) * (s1 - s0));
}

static void FN(scale_row)(REAL *restrict out, const REAL *restrict in, const cc_pool_shape *g,
                          int64_t hs, int64_t qa, int64_t qb, int count_include_pad);

static void FN(avg_pool_plane)(REAL *restrict y, const REAL *restrict x, const cc_pool_shape *g,
                               int count_include_pad, REAL *restrict sum, REAL *restrict padded)
{
    int64_t qa, qb;
    interior_columns(g, &qa, &qb);
    const int edges = qa > 0 || qb < g->q;
    for (int64_t op = 0; op < g->p; op++) {
        const int64_t hs = op * g->sh - g->ph;
        int r0, r1;
        clip_window(hs, g->r, g->h, &r0, &r1);
        for (int64_t oq = 0; oq < g->q; oq++)
            sum[oq] = 0;
        for (int r = r0; r < r1; r++) {
            const REAL *row = x + (hs + r) * g->w - g->pw;
            if (edges) {
                FN(pad_row)(padded, x + (hs + r) * g->w, g, 0);
                row = padded;
            }
            if (g->sw == 2) {
                const REAL *phase = FN(split_phases)(padded + g->w + 2 * g->pw + g->s, row, g);
                const int64_t half = g->q + g->s;
                for (int s = 0; s < g->s; s++)
                    FN(sum_tap)(sum, phase + (s & 1) * half + (s >> 1), g->q, 1);
            } else {
                for (int s = 0; s < g->s; s++)
                    FN(sum_tap_any)(sum, row + s, g->q, g->sw);
            }
        }
        FN(scale_row)(y + op * g->q, sum, g, hs, qa, qb, count_include_pad);
    }
}

/* out[q] = in[q] / divisor of window (p, q): one constant for the interior columns (a
 * vectorised loop), avg_scale for the few edge ones. */
static void FN(scale_row)(REAL *restrict out, const REAL *restrict in, const cc_pool_shape *g,
                          int64_t hs, int64_t qa, int64_t qb, int count_include_pad)
{
    const REAL interior = FN(avg_scale)(g, hs, qa * g->sw - g->pw, count_include_pad);
    for (int64_t oq = qa; oq < qb; oq++)
        out[oq] = in[oq] * interior;
    for (int64_t oq = qa == 0 ? qb : 0; oq < g->q; oq = (oq + 1 == qa) ? qb : oq + 1)
        out[oq] = in[oq] * FN(avg_scale)(g, hs, oq * g->sw - g->pw, count_include_pad);
}

/* 2x2 windows, stride 2, no padding: one pass over two input rows (gcc vectorises it). */
static void FN(avg_pool_2x2_plane)(REAL *restrict y, const REAL *restrict x,
                                   const cc_pool_shape *g)
{
    for (int64_t op = 0; op < g->p; op++) {
        const REAL *restrict x0 = x + 2 * op * g->w;
        const REAL *restrict x1 = x0 + g->w;
        REAL *restrict yr = y + op * g->q;
        for (int64_t oq = 0; oq < g->q; oq++)
            yr[oq] = ((x0[2 * oq] + x0[2 * oq + 1]) + (x1[2 * oq] + x1[2 * oq + 1])) * (REAL)0.25;
    }
}

void FN(cc_avg_pool2d)(REAL *y, const REAL *x, int count_include_pad, const cc_pool_shape *g,
                       int n_threads)
{
    const int64_t hw = g->h * g->w, pq = g->p * g->q;
    const int hot = g->r == 2 && g->s == 2 && non_overlapping(g);
    n_threads = pool_threads(n_threads, g->planes, g->planes * hw);
#pragma omp parallel num_threads(n_threads)
    {
        REAL *sum = malloc((size_t)g->q * sizeof(REAL));
        REAL *padded = malloc(FN(row_scratch_bytes)(g));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->planes; i++) {
            if (hot)
                FN(avg_pool_2x2_plane)(y + i * pq, x + i * hw, g);
            else
                FN(avg_pool_plane)(y + i * pq, x + i * hw, g, count_include_pad, sum, padded);
        }
        free(sum);
        free(padded);
    }
}

ALWAYS_INLINE void FN(spread_tap)(REAL *restrict gxs, const REAL *restrict share, int64_t n,
                                  int64_t stride)
{
    for (int64_t i = 0; i < n; i++)
        gxs[i * stride] += share[i];
}

static void FN(spread_tap_any)(REAL *restrict gxs, const REAL *restrict share, int64_t n,
                               int64_t stride)
{
    if (stride == 1)
        FN(spread_tap)(gxs, share, n, 1);
    else if (stride == 2)
        FN(spread_tap)(gxs, share, n, 2);
    else
        FN(spread_tap)(gxs, share, n, stride);
}

ALWAYS_INLINE void FN(fill_windows_row)(REAL *restrict gxr, const REAL *restrict share,
                                        int64_t q, int s_size)
{
    for (int64_t oq = 0; oq < q; oq++)
        for (int s = 0; s < s_size; s++)
            gxr[oq * s_size + s] = share[oq];
}

static void FN(avg_pool_backward_plane)(REAL *restrict gx, const REAL *restrict gy,
                                        const cc_pool_shape *g, int count_include_pad,
                                        REAL *restrict share)
{
    const int64_t hw = g->h * g->w;
    const int disjoint = non_overlapping(g);
    int64_t qa, qb;
    interior_columns(g, &qa, &qb);
    if (!disjoint)
        memset(gx, 0, (size_t)hw * sizeof(REAL));
    for (int64_t op = 0; op < g->p; op++) {
        const int64_t hs = op * g->sh - g->ph;
        int r0, r1;
        clip_window(hs, g->r, g->h, &r0, &r1);
        FN(scale_row)(share, gy + op * g->q, g, hs, qa, qb, count_include_pad);
        if (disjoint) {
            for (int r = 0; r < g->r; r++) {
                REAL *gxr = gx + (op * g->r + r) * g->w;
                if (g->s == 2)
                    FN(fill_windows_row)(gxr, share, g->q, 2);
                else
                    FN(fill_windows_row)(gxr, share, g->q, g->s);
                for (int64_t w = g->q * g->s; w < g->w; w++)
                    gxr[w] = 0;
            }
            continue;
        }
        for (int r = r0; r < r1; r++) {
            REAL *row = gx + (hs + r) * g->w;
            for (int64_t oq = qa == 0 ? qb : 0; oq < g->q; oq = (oq + 1 == qa) ? qb : oq + 1) {
                int s0, s1;
                const int64_t ws = oq * g->sw - g->pw;
                clip_window(ws, g->s, g->w, &s0, &s1);
                for (int s = s0; s < s1; s++)
                    row[ws + s] += share[oq];
            }
            for (int s = 0; s < g->s; s++)
                FN(spread_tap_any)(row + qa * g->sw - g->pw + s, share + qa, qb - qa, g->sw);
        }
    }
    if (disjoint) {
        const int64_t covered_h = g->p * g->r;
        memset(gx + covered_h * g->w, 0, (size_t)((g->h - covered_h) * g->w) * sizeof(REAL));
    }
}

void FN(cc_avg_pool2d_backward)(REAL *gx, const REAL *gy, int count_include_pad,
                                const cc_pool_shape *g, int n_threads)
{
    const int64_t hw = g->h * g->w, pq = g->p * g->q;
    n_threads = pool_threads(n_threads, g->planes, g->planes * hw);
#pragma omp parallel num_threads(n_threads)
    {
        REAL *share = malloc((size_t)g->q * sizeof(REAL));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < g->planes; i++)
            FN(avg_pool_backward_plane)(gx + i * hw, gy + i * pq, g, count_include_pad, share);
        free(share);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Global average pooling                                                                   */
/* ---------------------------------------------------------------------------------------- */

/* Sum in double over 8 fixed lanes (vectorises; the order never depends on the threads). */
static double FN(plane_sum)(const REAL *restrict x, int64_t n)
{
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            lane[j] += (double)x[i + j];
    double total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                   ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; i < n; i++)
        total += (double)x[i];
    return total;
}

void FN(cc_global_avg_pool2d)(REAL *y, const REAL *x, int64_t planes, int64_t hw, int n_threads)
{
    n_threads = pool_threads(n_threads, planes, planes * hw);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < planes; i++)
        y[i] = (REAL)(FN(plane_sum)(x + i * hw, hw) / (double)hw);
}

#undef FN
#undef REAL
#undef TAG
