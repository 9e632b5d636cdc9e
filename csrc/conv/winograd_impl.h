/* Winograd F(2x2, 3x3) tile transforms (contracts and legend in winograd.h), written once and
 * compiled per ISA (winograd.c, winograd-avx2.c, winograd-avx512.c: same code, the flags
 * differ). Every loop runs along the tiles of a row with unit stride, a vector (vec.h) of 4, 8
 * or 16 tiles at a time; the 4x4 tile is unrolled into named vectors.
 */
#include <math.h>
#include <string.h>

#include "vec.h"
#include "winograd.h"

#define WG_CAT_(a, b) a##_##b
#define WG_CAT(a, b) WG_CAT_(a, b)

/* Explicit vectors, because gcc's auto-vectoriser gave up on the input transform (it ran at
 * scalar speed, 1.3x the time of the GEMM). Even/odd lane picks for the column split: */
#if CC_VEC_W == 16
#define WG_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define WG_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif CC_VEC_W == 8
#define WG_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define WG_ODD 1, 3, 5, 7, 9, 11, 13, 15
#else
#define WG_EVEN 0, 2, 4, 6
#define WG_ODD 1, 3, 5, 7
#endif
#if defined(__clang__)
#define WG_PICK(lo, hi, lanes) __builtin_shufflevector(lo, hi, lanes)
#else
#define WG_PICK(lo, hi, lanes) __builtin_shuffle(lo, hi, (cc_vec_mask){lanes})
#endif

/* even[m] = row[col0 + 2m], odd[m] = row[col0 + 2m + 1] for m < count (0 outside the row, or
 * for every m if row is NULL), then zeros up to `padded`. Whole vectors where the row allows,
 * scalars only next to its ends. */
static void split_columns(float *restrict even, float *restrict odd, const float *restrict row,
                          int64_t w, int64_t col0, int64_t count, int64_t padded)
{
    int64_t m = 0;
    if (row) {
        for (; m < count && col0 + 2 * m < 0; m++) {
            even[m] = 0.0f;
            odd[m] = col0 + 2 * m + 1 >= 0 ? row[col0 + 2 * m + 1] : 0.0f;
        }
        for (; m < count && col0 + 2 * (m + CC_VEC_W) <= w; m += CC_VEC_W) {
            const cc_vec lo = cc_vec_load(row + col0 + 2 * m);
            const cc_vec hi = cc_vec_load(row + col0 + 2 * m + CC_VEC_W);
            cc_vec_store(even + m, WG_PICK(lo, hi, WG_EVEN));
            cc_vec_store(odd + m, WG_PICK(lo, hi, WG_ODD));
        }
        for (; m < count; m++) {
            const int64_t col = col0 + 2 * m;
            even[m] = col < w ? row[col] : 0.0f;
            odd[m] = col + 1 < w ? row[col + 1] : 0.0f;
        }
    }
    for (; m < padded; m++)
        even[m] = odd[m] = 0.0f;
}

/* Input: the columns of a tile row are split into even and odd ones first, so tile u's four
 * columns are even[u], odd[u], even[u + 1], odd[u + 1]: unit-stride vector loads. Whole
 * vectors of tiles only (the contract in winograd.h allows writing past count). */
void WG_CAT(cc_winograd_input_f32, ISA)(float *restrict v, int64_t v_stride,
                                        const float *const rows[4], int64_t w, int64_t col0,
                                        int64_t count)
{
    enum { LEN = CC_WINOGRAD_MAX_RUN + 2 * CC_VEC_W };
    float even[4][LEN], odd[4][LEN];
    /* past count + 1 by more than a vector: the loads of u + 1 .. u + VW stay in the zeros */
    const int64_t padded = (count + CC_VEC_W) / CC_VEC_W * CC_VEC_W + CC_VEC_W;
    for (int i = 0; i < 4; i++)
        split_columns(even[i], odd[i], rows[i], w, col0, count + 1, padded);
    for (int64_t u = 0; u < count; u += CC_VEC_W) {
        cc_vec db[4][4]; /* d . B: row i of the tile, transformed along its columns */
        for (int i = 0; i < 4; i++) {
            const cc_vec d0 = cc_vec_load(even[i] + u), d1 = cc_vec_load(odd[i] + u);
            const cc_vec d2 = cc_vec_load(even[i] + u + 1), d3 = cc_vec_load(odd[i] + u + 1);
            db[i][0] = d0 - d2;
            db[i][1] = d1 + d2;
            db[i][2] = d2 - d1;
            db[i][3] = d1 - d3;
        }
        for (int j = 0; j < 4; j++) { /* B^T . (d . B), column j */
            cc_vec_store(v + (0 + j) * v_stride + u, db[0][j] - db[2][j]);
            cc_vec_store(v + (4 + j) * v_stride + u, db[1][j] + db[2][j]);
            cc_vec_store(v + (8 + j) * v_stride + u, db[2][j] - db[1][j]);
            cc_vec_store(v + (12 + j) * v_stride + u, db[1][j] - db[3][j]);
        }
    }
}

/* Gradient side of the weight gradient: tile u of dY (rows y0, y1, columns 2u, 2u + 1, zero
 * past `cols` or when y1 is NULL) becomes A dY A^T, rows [a, a + b, a - b, -b] of each dY row
 * (a, b) combined as r0, r0 + r1, r0 - r1, -r1. Whole vectors, as the input transform. */
void WG_CAT(cc_winograd_grad_tile_f32, ISA)(float *restrict t, int64_t t_stride,
                                            const float *y0, const float *y1, int64_t cols,
                                            int64_t count)
{
    enum { LEN = CC_WINOGRAD_MAX_RUN + 2 * CC_VEC_W };
    float even[2][LEN], odd[2][LEN];
    const int64_t padded = (count + CC_VEC_W - 1) / CC_VEC_W * CC_VEC_W;
    split_columns(even[0], odd[0], y0, cols, 0, count, padded);
    split_columns(even[1], odd[1], y1, cols, 0, count, padded);
    for (int64_t u = 0; u < count; u += CC_VEC_W) {
        cc_vec r[2][4]; /* dY . A^T */
        for (int i = 0; i < 2; i++) {
            const cc_vec a = cc_vec_load(even[i] + u), b = cc_vec_load(odd[i] + u);
            r[i][0] = a;
            r[i][1] = a + b;
            r[i][2] = a - b;
            r[i][3] = -b;
        }
        for (int j = 0; j < 4; j++) { /* A . (dY . A^T), column j */
            cc_vec_store(t + (0 + j) * t_stride + u, r[0][j]);
            cc_vec_store(t + (4 + j) * t_stride + u, r[0][j] + r[1][j]);
            cc_vec_store(t + (8 + j) * t_stride + u, r[0][j] - r[1][j]);
            cc_vec_store(t + (12 + j) * t_stride + u, -r[1][j]);
        }
    }
}

/* Output: y = A^T m A, the 2x2 result of tile u going to columns 2u, 2u + 1 of both rows.
 * Also says whether any result (of every tile, the discarded row of a cut one included) is not
 * finite.
 * Full runs store straight into y; a run whose last tile is cut by the image edge (Q odd)
 * goes through a row buffer. */
int WG_CAT(cc_winograd_output_f32, ISA)(float *restrict y0, float *restrict y1, int64_t out_cols,
                                        const float *restrict m, int64_t m_stride, int64_t count,
                                        float bias, int relu)
{
    float row_buffer[2][2 * CC_WINOGRAD_MAX_RUN];
    const int direct = out_cols == 2 * count;
    float *restrict top = direct ? y0 : row_buffer[0];
    float *restrict bottom = direct && y1 ? y1 : row_buffer[1];
    /* relu: below 0 becomes 0; otherwise nothing is below -inf. NaN compares false: kept. */
    const float floor_value = relu ? 0.0f : -INFINITY;
    int not_finite = 0; /* some y - y != 0: y is NaN or infinite */
    for (int64_t u = 0; u < count; u++) {
        float ma[4][2]; /* m . A: row i of the tile, transformed along its columns */
        for (int i = 0; i < 4; i++) {
            const float m0 = m[(4 * i + 0) * m_stride + u], m1 = m[(4 * i + 1) * m_stride + u];
            const float m2 = m[(4 * i + 2) * m_stride + u], m3 = m[(4 * i + 3) * m_stride + u];
            ma[i][0] = m0 + m1 + m2;
            ma[i][1] = m1 - m2 - m3;
        }
        for (int j = 0; j < 2; j++) {
            const float upper = ma[0][j] + ma[1][j] + ma[2][j] + bias;
            const float lower = ma[1][j] - ma[2][j] - ma[3][j] + bias;
            top[2 * u + j] = upper < floor_value ? floor_value : upper;
            bottom[2 * u + j] = lower < floor_value ? floor_value : lower;
            not_finite |= (upper - upper != 0.0f) | (lower - lower != 0.0f);
        }
    }
    if (!direct) {
        for (int64_t col = 0; col < out_cols; col++)
            y0[col] = row_buffer[0][col];
        if (y1)
            for (int64_t col = 0; col < out_cols; col++)
                y1[col] = row_buffer[1][col];
    }
    return not_finite;
}

#undef WG_CAT
#undef WG_CAT_
