/* Row-wise softmax, log-softmax, their backwards, cross-entropy and the MSE sum, included by
 * softmax.c once per dtype (REAL/TAG = float/f32, double/f64). Portable C only: rows are
 * (N, classes) logits, small next to the conv/pool/norm tensors; one SIMD width is plenty.
 *
 * Layout: (rows, cols) C-contiguous; the softmax axis is the last one (functional/losses.py
 * moves any other axis there). Stable: every exponential is of x - max(row) <= 0. Row sums in
 * double. Parallel over rows; per-row results (and the loss, summed over rows in order) don't
 * depend on the thread count.
 */
#pragma GCC optimize("no-trapping-math") /* see activation_impl.h */

#define CC_CAT2_(a, b) a##_##b
#define CC_CAT2(a, b) CC_CAT2_(a, b)
#define FN(name) CC_CAT2(name, TAG)

#if defined(CC_REAL_IS_F32)
#define EXP_NEG(v) cc_exp_neg_f32(v)
#else
#define EXP_NEG(v) exp(v)
#endif

static REAL FN(row_max)(const REAL *x, int64_t cols)
{
    REAL m = x[0];
    for (int64_t j = 1; j < cols; j++)
        m = (x[j] > m || x[j] != x[j]) ? x[j] : m; /* NaN propagates */
    return m;
}

/* y = exp(x - max) and the row's sum of it, in double. */
static double FN(row_exp)(REAL *restrict y, const REAL *restrict x, int64_t cols, REAL m)
{
    for (int64_t j = 0; j < cols; j++)
        y[j] = EXP_NEG(x[j] - m);
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8)
        for (int k = 0; k < 8; k++)
            lane[k] += (double)y[j + k];
    double total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                   ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; j < cols; j++)
        total += (double)y[j];
    return total;
}

void FN(cc_softmax_rows)(REAL *y, const REAL *x, int take_log, int64_t rows, int64_t cols,
                         int n_threads)
{
    n_threads = rows * cols < 65536 ? 1 : n_threads;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *restrict xr = x + r * cols;
        REAL *restrict yr = y + r * cols;
        const REAL m = FN(row_max)(xr, cols);
        const double total = FN(row_exp)(yr, xr, cols, m);
        if (take_log) {
            const REAL log_total = (REAL)log(total);
            for (int64_t j = 0; j < cols; j++)
                yr[j] = (xr[j] - m) - log_total;
        } else {
            const REAL inv = (REAL)(1.0 / total);
            for (int64_t j = 0; j < cols; j++)
                yr[j] *= inv;
        }
    }
}

void FN(cc_softmax_backward_rows)(REAL *gx, const REAL *gy, const REAL *y, int take_log,
                                  int64_t rows, int64_t cols, int n_threads)
{
    n_threads = rows * cols < 65536 ? 1 : n_threads;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *restrict g = gy + r * cols, *restrict yr = y + r * cols;
        REAL *restrict out = gx + r * cols;
        double dot = 0;
        if (take_log) {
            for (int64_t j = 0; j < cols; j++)
                dot += (double)g[j];
            const REAL s = (REAL)dot;
            for (int64_t j = 0; j < cols; j++) {
                REAL p = yr[j] <= 0 ? EXP_NEG(yr[j]) : (REAL)1; /* log-probabilities are <= 0 */
                out[j] = g[j] - p * s;
            }
        } else {
            for (int64_t j = 0; j < cols; j++)
                dot += (double)g[j] * (double)yr[j];
            const REAL s = (REAL)dot;
            for (int64_t j = 0; j < cols; j++)
                out[j] = yr[j] * (g[j] - s);
        }
    }
}

double FN(cc_cross_entropy)(REAL *grad, const REAL *logits, const int64_t *target, int64_t rows,
                            int64_t cols, int n_threads)
{
    double *row_loss = malloc((size_t)rows * sizeof(double));
    n_threads = rows * cols < 65536 ? 1 : n_threads;
#pragma omp parallel num_threads(n_threads)
    {
        REAL *scratch = grad ? NULL : malloc((size_t)cols * sizeof(REAL));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const REAL *restrict xr = logits + r * cols;
            REAL *restrict e = grad ? grad + r * cols : scratch;
            const REAL m = FN(row_max)(xr, cols);
            const double total = FN(row_exp)(e, xr, cols, m);
            /* -log softmax[t] = log(sum) - (x[t] - max) */
            row_loss[r] = log(total) - ((double)xr[target[r]] - (double)m);
            if (grad) {
                const REAL scale = (REAL)(1.0 / (total * (double)rows));
                for (int64_t j = 0; j < cols; j++)
                    e[j] *= scale;
                e[target[r]] -= (REAL)(1.0 / (double)rows);
            }
        }
        free(scratch);
    }
    double loss = 0;
    for (int64_t r = 0; r < rows; r++)
        loss += row_loss[r];
    free(row_loss);
    return loss / (double)rows;
}

double FN(cc_sum_sq_diff)(const REAL *a, const REAL *b, int64_t n, int n_threads)
{
    const int64_t chunk = 16384, chunks = (n + chunk - 1) / chunk;
    double *partial = malloc((size_t)chunks * sizeof(double));
    n_threads = n < 65536 ? 1 : n_threads;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t start = k * chunk, end = n - start < chunk ? n : start + chunk;
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = start;
        for (; i + 8 <= end; i += 8)
            for (int j = 0; j < 8; j++) {
                double d = (double)a[i + j] - (double)b[i + j];
                lane[j] += d * d;
            }
        double total = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        for (; i < end; i++) {
            double d = (double)a[i] - (double)b[i];
            total += d * d;
        }
        partial[k] = total;
    }
    double sum = 0;
    for (int64_t k = 0; k < chunks; k++)
        sum += partial[k];
    free(partial);
    return sum;
}

#undef EXP_NEG
#undef FN
#undef REAL
#undef TAG
#undef CC_REAL_IS_F32
