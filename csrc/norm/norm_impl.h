/* Batch norm kernels (see norm.h), written once and compiled per ISA (norm.c, norm-avx2.c,
 * norm-avx512.c: same code, different flags) and per dtype (REAL/TAG = float/f32, double/f64).
 * The per-plane loops are plain C that gcc vectorises, except the float32 sums, whose AVX2
 * bodies are in norm_avx2.h; all sums use 8 fixed double lanes, so their order (and result)
 * depends neither on the ISA nor on the threads.
 *
 * Legend: N batch, C channels, L values per plane (H*W, or 1 for batch_norm1d); M = N*L.
 * Pass 1 (parallel over the N*C planes): per-plane partial sums into a scratch array.
 * Reduce (parallel over C): sum the N partials of each channel in order n = 0..N-1.
 * Pass 2 (parallel over the N*C planes): normalise (forward) or form dX (backward).
 */
/* Let gcc if-convert selects whose arms compute (see activation_impl.h); results unchanged. */
#pragma GCC optimize("no-trapping-math")

#include <math.h>
#include <stdlib.h>

#include "norm.h"
#ifdef __AVX2__
#include "norm_avx2.h"
#endif

#define CC_CAT3_(a, b, c) a##_##b##_##c
#define CC_CAT3(a, b, c) CC_CAT3_(a, b, c)
#define FN(name) CC_CAT3(name, TAG, ISA)

#ifndef CC_NORM_IMPL_ONCE
#define CC_NORM_IMPL_ONCE
#define LANES 8
/* Below this many values a call runs on one thread (thread start-up costs more). */
#define CC_NORM_PARALLEL_MIN 32768

static int norm_threads(int n_threads, int64_t values)
{
    return (values < CC_NORM_PARALLEL_MIN || n_threads < 1) ? 1 : n_threads;
}

static double lanes_total(const double *lane)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}
#endif

/* sum and sum of squares of (x - shift) over one plane. */
static void FN(plane_moments)(double *sum, double *sumsq, const REAL *restrict x, int64_t l,
                              double shift)
{
    double s[LANES] = {0}, q[LANES] = {0};
    int64_t i = 0;
#ifdef __AVX2__
    if (sizeof(REAL) == sizeof(float))
        i = moments_f32_avx2(s, q, (const float *)x, l, shift);
#endif
    for (; i + LANES <= l; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = (double)x[i + j] - shift;
            s[j] += d;
            q[j] += d * d;
        }
    double total = lanes_total(s), total_sq = lanes_total(q);
    for (; i < l; i++) {
        double d = (double)x[i] - shift;
        total += d;
        total_sq += d * d;
    }
    *sum = total;
    *sumsq = total_sq;
}

/* sum of dY and of dY * (x - mean) over one plane; dY masked by y > 0 when y is given. */
static void FN(plane_grad_moments)(double *sum_dy, double *sum_dy_xc, const REAL *restrict gy,
                                   const REAL *restrict x, const REAL *restrict y, int64_t l,
                                   double mean)
{
    double s[LANES] = {0}, q[LANES] = {0};
    int64_t i = 0;
#ifdef __AVX2__
    if (sizeof(REAL) == sizeof(float))
        i = grad_moments_f32_avx2(s, q, (const float *)gy, (const float *)x, (const float *)y, l,
                                  mean);
#endif
    if (y) {
        for (; i + LANES <= l; i += LANES)
            for (int j = 0; j < LANES; j++) {
                double g = y[i + j] > 0 ? (double)gy[i + j] : 0.0;
                s[j] += g;
                q[j] += g * ((double)x[i + j] - mean);
            }
    } else {
        for (; i + LANES <= l; i += LANES)
            for (int j = 0; j < LANES; j++) {
                double g = (double)gy[i + j];
                s[j] += g;
                q[j] += g * ((double)x[i + j] - mean);
            }
    }
    double total = lanes_total(s), total_q = lanes_total(q);
    for (; i < l; i++) {
        double g = (!y || y[i] > 0) ? (double)gy[i] : 0.0;
        total += g;
        total_q += g * ((double)x[i] - mean);
    }
    *sum_dy = total;
    *sum_dy_xc = total_q;
}

/* y = (x - mean) * scale + beta [ReLU]. The mean is split in two REALs (hi + lo): x - hi is
 * exact for x near the mean, so float32 keeps the precision of the double mean even when the
 * data sit on a large offset (1e4 + N(0, 1) loses nothing). */
static void FN(plane_normalise)(REAL *restrict y, const REAL *restrict x, int64_t l,
                                REAL mean_hi, REAL mean_lo, REAL scale, REAL beta, int relu)
{
    if (relu) {
        for (int64_t i = 0; i < l; i++) {
            REAL v = ((x[i] - mean_hi) - mean_lo) * scale + beta;
            y[i] = v > 0 ? v : (REAL)0;
        }
    } else {
        for (int64_t i = 0; i < l; i++)
            y[i] = ((x[i] - mean_hi) - mean_lo) * scale + beta;
    }
}

/* dX = a * dY + (b * (x - mean) + c0), dY masked by y > 0 when y is given. */
static void FN(plane_grad_x)(REAL *restrict gx, const REAL *restrict gy, const REAL *restrict x,
                             const REAL *restrict y, int64_t l, REAL mean, REAL a, REAL b,
                             REAL c0)
{
    if (y) {
        for (int64_t i = 0; i < l; i++) {
            REAL rest = b * (x[i] - mean) + c0, g = gy[i];
            gx[i] = y[i] > 0 ? a * g + rest : rest;
        }
    } else {
        for (int64_t i = 0; i < l; i++)
            gx[i] = a * gy[i] + (b * (x[i] - mean) + c0);
    }
}

void FN(cc_batch_norm_forward)(REAL *y, REAL *save_mean, REAL *save_invstd, REAL *running_mean,
                               REAL *running_var, const REAL *x, const REAL *gamma,
                               const REAL *beta, int training, double momentum, double eps,
                               int relu, int64_t n, int64_t c, int64_t l, int n_threads)
{
    const int64_t planes = n * c;
    const double m = (double)(n * l);
    double *mean = malloc((size_t)c * 2 * sizeof(double)), *invstd = mean + c;
    double *partial = training ? malloc((size_t)planes * 2 * sizeof(double)) : NULL;
    n_threads = norm_threads(n_threads, planes * l);
#pragma omp parallel num_threads(n_threads)
    {
        if (training) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < planes; i++)
                FN(plane_moments)(&partial[2 * i], &partial[2 * i + 1], x + i * l, l,
                                  (double)x[(i % c) * l]);
#pragma omp for schedule(static)
            for (int64_t ch = 0; ch < c; ch++) {
                double sum = 0, sumsq = 0;
                for (int64_t k = 0; k < n; k++) {
                    sum += partial[2 * (k * c + ch)];
                    sumsq += partial[2 * (k * c + ch) + 1];
                }
                const double shifted_mean = sum / m;
                double var = sumsq / m - shifted_mean * shifted_mean;
                var = var < 0 ? 0 : var; /* rounding can go below 0; NaN stays NaN */
                mean[ch] = (double)x[ch * l] + shifted_mean;
                invstd[ch] = 1.0 / sqrt(var + eps);
                if (running_mean) {
                    running_mean[ch] = (REAL)((1 - momentum) * (double)running_mean[ch] +
                                              momentum * mean[ch]);
                    running_var[ch] = (REAL)((1 - momentum) * (double)running_var[ch] +
                                             momentum * var * m / (m - 1));
                }
            }
        } else {
#pragma omp for schedule(static)
            for (int64_t ch = 0; ch < c; ch++) {
                mean[ch] = (double)running_mean[ch];
                invstd[ch] = 1.0 / sqrt((double)running_var[ch] + eps);
            }
        }
#pragma omp single
        for (int64_t ch = 0; ch < c; ch++) {
            save_mean[ch] = (REAL)mean[ch];
            save_invstd[ch] = (REAL)invstd[ch];
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < planes; i++) {
            const int64_t ch = i % c;
            const REAL hi = (REAL)mean[ch], lo = (REAL)(mean[ch] - (double)hi);
            FN(plane_normalise)(y + i * l, x + i * l, l, hi, lo,
                                (REAL)((double)gamma[ch] * invstd[ch]), beta[ch], relu);
        }
    }
    free(partial);
    free(mean);
}

void FN(cc_batch_norm_backward)(REAL *gx, REAL *ggamma, REAL *gbeta, const REAL *gy,
                                const REAL *x, const REAL *y, const REAL *gamma,
                                const REAL *save_mean, const REAL *save_invstd, int training,
                                int64_t n, int64_t c, int64_t l, int n_threads)
{
    const int64_t planes = n * c;
    const double m = (double)(n * l);
    double *partial = malloc((size_t)planes * 2 * sizeof(double));
    double *coef = malloc((size_t)c * 3 * sizeof(double));
    n_threads = norm_threads(n_threads, planes * l);
#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(static)
        for (int64_t i = 0; i < planes; i++) {
            const int64_t off = i * l;
            FN(plane_grad_moments)(&partial[2 * i], &partial[2 * i + 1], gy + off, x + off,
                                   y ? y + off : NULL, l, (double)save_mean[i % c]);
        }
#pragma omp for schedule(static)
        for (int64_t ch = 0; ch < c; ch++) {
            double sum_dy = 0, sum_dy_xc = 0;
            for (int64_t k = 0; k < n; k++) {
                sum_dy += partial[2 * (k * c + ch)];
                sum_dy_xc += partial[2 * (k * c + ch) + 1];
            }
            const double is = (double)save_invstd[ch], g_is = (double)gamma[ch] * is;
            gbeta[ch] = (REAL)sum_dy;
            ggamma[ch] = (REAL)(sum_dy_xc * is);
            coef[3 * ch] = g_is;
            coef[3 * ch + 1] = training ? -g_is * is * is * sum_dy_xc / m : 0.0;
            coef[3 * ch + 2] = training ? -g_is * sum_dy / m : 0.0;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < planes; i++) {
            const int64_t ch = i % c, off = i * l;
            FN(plane_grad_x)(gx + off, gy + off, x + off, y ? y + off : NULL, l, save_mean[ch],
                             (REAL)coef[3 * ch], (REAL)coef[3 * ch + 1], (REAL)coef[3 * ch + 2]);
        }
    }
    free(coef);
    free(partial);
}

#undef FN
#undef REAL
#undef TAG
