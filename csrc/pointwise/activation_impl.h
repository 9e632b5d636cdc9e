/* Elementwise activations (forward and backward), dropout and maxout, written once and compiled
 * per ISA (activation.c, activation-avx2.c, activation-avx512.c: same code, different flags)
 * and per dtype (REAL/TAG = float/f32, double/f64). Plain C that gcc vectorises; float32
 * exponentials use cc_exp_neg_f32 (fastexp.h), float64 ones libm (exact, not vectorised:
 * float64 is the checking dtype, not the fast one).
 *
 * Layout: any shape, flattened to n values; maxout sees (N, C, L) with L = product of the
 * trailing dims. Parallel over fixed chunks of values (elementwise, so any thread count gives
 * the same bits).
 */
/* No program here reads floating-point exception flags, so let gcc assume they don't matter:
 * with its default -ftrapping-math it won't if-convert a select whose arms compute, and these
 * loops (leaky_relu, elu, sigmoid, tanh, ...) stayed scalar. Results are unchanged. */
#pragma GCC optimize("no-trapping-math")

#include <math.h>
#include <stdlib.h>

#include "fastexp.h"
#include "pointwise.h"

#define CC_CAT3_(a, b, c) a##_##b##_##c
#define CC_CAT3(a, b, c) CC_CAT3_(a, b, c)
#define FN(name) CC_CAT3(name, TAG, ISA)

#ifndef CC_ACTIVATION_IMPL_ONCE
#define CC_ACTIVATION_IMPL_ONCE
/* Values per OpenMP chunk, and the size below which a call stays on one thread. */
#define CHUNK 16384
#define PARALLEL_MIN 65536
static int act_threads(int n_threads, int64_t n)
{
    return (n < PARALLEL_MIN || n_threads < 1) ? 1 : n_threads;
}
#endif

#if defined(CC_REAL_IS_F32)
#define EXP_NEG(v) cc_exp_neg_f32(v)
#define EXPM1_NEG(v) cc_expm1_neg_f32(v)
#define ABS(v) fabsf(v)
#else
#define EXP_NEG(v) exp(v)
#define EXPM1_NEG(v) expm1(v)
#define ABS(v) fabs(v)
#endif

/* 1 / (1 + e^-x) without overflow: e = exp(-|x|) is in (0, 1]. */
static inline REAL FN(sigmoid1)(REAL v)
{
    REAL e = EXP_NEG(-ABS(v));
    REAL s = (REAL)1 / ((REAL)1 + e);
    REAL es = e * s;
    return v >= 0 ? s : es;
}

static inline REAL FN(tanh1)(REAL v)
{
#if defined(CC_REAL_IS_F32)
    /* |x| < 0.625: Cephes' odd polynomial (no cancellation near 0); else 1 - 2 / (e^2|x| + 1) */
    float a = fabsf(v), z = v * v;
    float q = CC_MADD(-5.70498872745e-3f, z, 2.06390887954e-2f);
    q = CC_MADD(q, z, -5.37397155531e-2f);
    q = CC_MADD(q, z, 1.33314422036e-1f);
    q = CC_MADD(q, z, -3.33332819422e-1f);
    float small = CC_MADD(q * z, v, v);
    float e = cc_exp_neg_f32(-2.0f * a);
    float large = (1.0f - e) / (1.0f + e);
    large = v < 0 ? -large : large;
    return a < 0.625f ? small : large;
#else
    return tanh(v);
#endif
}

static void FN(chunk)(int op, REAL *restrict out, const REAL *restrict a,
                      const REAL *restrict b, REAL alpha, int64_t n)
{
    const REAL zero = 0, one = 1;
    switch (op) {
    case CC_OP_RELU:
        for (int64_t i = 0; i < n; i++)
            out[i] = a[i] < zero ? zero : a[i]; /* NaN stays NaN */
        break;
    case CC_OP_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) {
            REAL scaled = a[i] * alpha;
            out[i] = a[i] > zero ? a[i] : scaled;
        }
        break;
    case CC_OP_ELU:
        for (int64_t i = 0; i < n; i++) {
            REAL neg = a[i] > zero ? zero : a[i]; /* NaN goes through */
            REAL e = alpha * EXPM1_NEG(neg);
            out[i] = a[i] > zero ? a[i] : e;
        }
        break;
    case CC_OP_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            out[i] = FN(sigmoid1)(a[i]);
        break;
    case CC_OP_TANH:
        for (int64_t i = 0; i < n; i++)
            out[i] = FN(tanh1)(a[i]);
        break;
    /* backward: a = grad_y, b = x (relu, leaky_relu, elu) or y (sigmoid, tanh) */
    case CC_OP_RELU_BACKWARD:
        for (int64_t i = 0; i < n; i++)
            out[i] = b[i] > zero ? a[i] : zero;
        break;
    case CC_OP_LEAKY_RELU_BACKWARD:
        for (int64_t i = 0; i < n; i++) {
            REAL scaled = a[i] * alpha;
            out[i] = b[i] > zero ? a[i] : scaled;
        }
        break;
    case CC_OP_ELU_BACKWARD:
        for (int64_t i = 0; i < n; i++) {
            REAL neg = b[i] > zero ? zero : b[i];
            REAL scaled = a[i] * (alpha * EXP_NEG(neg));
            out[i] = b[i] > zero ? a[i] : scaled;
        }
        break;
    case CC_OP_SIGMOID_BACKWARD:
        for (int64_t i = 0; i < n; i++)
            out[i] = a[i] * (b[i] * (one - b[i]));
        break;
    case CC_OP_TANH_BACKWARD:
        for (int64_t i = 0; i < n; i++)
            out[i] = a[i] * (one - b[i] * b[i]);
        break;
    case CC_OP_SCALED_DIFF: /* mse backward: alpha * (a - b) */
        for (int64_t i = 0; i < n; i++)
            out[i] = (a[i] - b[i]) * alpha;
        break;
    }
}

void FN(cc_pointwise)(int op, REAL *out, const REAL *a, const REAL *b, double alpha, int64_t n,
                      int n_threads)
{
    const int64_t chunks = (n + CHUNK - 1) / CHUNK;
    n_threads = act_threads(n_threads, n);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t start = k * CHUNK, len = n - start < CHUNK ? n - start : CHUNK;
        FN(chunk)(op, out + start, a + start, b ? b + start : NULL, (REAL)alpha, len);
    }
}

/* out = keep ? a * scale : 0 (dropout forward on x, backward on grad_y). */
void FN(cc_dropout_apply)(REAL *out, const REAL *a, const uint8_t *keep, double scale, int64_t n,
                          int n_threads)
{
    const int64_t chunks = (n + CHUNK - 1) / CHUNK;
    const REAL s = (REAL)scale;
    n_threads = act_threads(n_threads, n);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t start = k * CHUNK, end = n - start < CHUNK ? n : start + CHUNK;
        REAL *restrict o = out;
        const REAL *restrict x = a;
        const uint8_t *restrict m = keep;
        for (int64_t i = start; i < end; i++) {
            REAL scaled = x[i] * s;
            o[i] = m[i] ? scaled : (REAL)0;
        }
    }
}

/* Maxout: y[n, g, :] = max over j < k of x[n, g*k + j, :], the first maximum (NaN counts as
 * the maximum) winning; one (n, g) group of k rows of L values at a time, vectorised along L. */
void FN(cc_maxout)(REAL *y, const REAL *x, int64_t groups, int64_t k, int64_t l, int n_threads)
{
    n_threads = act_threads(n_threads, groups * k * l);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t gi = 0; gi < groups; gi++) {
        REAL *restrict best = y + gi * l;
        const REAL *restrict rows = x + gi * k * l;
        for (int64_t i = 0; i < l; i++)
            best[i] = rows[i];
        for (int64_t j = 1; j < k; j++)
            for (int64_t i = 0; i < l; i++) {
                REAL v = rows[j * l + i];
                best[i] = (v > best[i] || (v != v && best[i] == best[i])) ? v : best[i];
            }
    }
}

/* gx[n, g*k + j, :] = gy[n, g, :] where piece j won (recomputed from x), else 0. */
void FN(cc_maxout_backward)(REAL *gx, const REAL *gy, const REAL *x, int64_t groups, int64_t k,
                            int64_t l, int n_threads)
{
    n_threads = act_threads(n_threads, groups * k * l);
#pragma omp parallel num_threads(n_threads)
    {
        REAL *best = malloc((size_t)l * sizeof(REAL));
        int32_t *arg = malloc((size_t)l * sizeof(int32_t));
#pragma omp for schedule(static)
        for (int64_t gi = 0; gi < groups; gi++) {
            const REAL *restrict rows = x + gi * k * l;
            for (int64_t i = 0; i < l; i++) {
                best[i] = rows[i];
                arg[i] = 0;
            }
            for (int64_t j = 1; j < k; j++)
                for (int64_t i = 0; i < l; i++) {
                    REAL v = rows[j * l + i];
                    int take = v > best[i] || (v != v && best[i] == best[i]);
                    best[i] = take ? v : best[i];
                    arg[i] = take ? (int32_t)j : arg[i];
                }
            for (int64_t j = 0; j < k; j++) {
                REAL *restrict out = gx + (gi * k + j) * l;
                const REAL *restrict g = gy + gi * l;
                for (int64_t i = 0; i < l; i++)
                    out[i] = arg[i] == j ? g[i] : (REAL)0;
            }
        }
        free(best);
        free(arg);
    }
}

#undef EXP_NEG
#undef EXPM1_NEG
#undef ABS
#undef FN
#undef REAL
#undef TAG
#undef CC_REAL_IS_F32
