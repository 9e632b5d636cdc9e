/* Bias add + optional ReLU over an (N, C, L) tensor: y[n, c, i] = act(x[n, c, i] + bias[c]).
 *
 * Layout: N batch, C channels, L = H*W pixels per plane (contiguous). One row = one plane, so the
 * bias is a scalar per row and the row loop vectorises; rows are independent, hence the OpenMP
 * loop over N*C. The ISA-specific part is only the row function.
 */
#include "../dispatch.h"
#include "pointwise.h"

typedef void (*bias_act_row_f32)(float *, const float *, float, int, int64_t);

void cc_bias_act_row_f32_scalar(float *y, const float *x, float bias, int activation, int64_t l)
{
    for (int64_t i = 0; i < l; i++) {
        float v = x[i] + bias;
        y[i] = (activation == CC_ACT_RELU && v < 0.0f) ? 0.0f : v; /* NaN stays NaN, as torch */
    }
}

static bias_act_row_f32 row_kernel_f32(void)
{
    switch (cc_active_isa()) {
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512: return cc_bias_act_row_f32_avx512;
#endif
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2: return cc_bias_act_row_f32_avx2;
#endif
    default: return cc_bias_act_row_f32_scalar;
    }
}

void cc_bias_act_f32(float *y, const float *x, const float *bias, int activation,
                     int64_t n, int64_t c, int64_t l, int n_threads)
{
    bias_act_row_f32 row = row_kernel_f32();
    int64_t rows = n * c;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (rows * l > 32768)
    for (int64_t r = 0; r < rows; r++)
        row(y + r * l, x + r * l, bias ? bias[r % c] : 0.0f, activation, l);
}

/* float64 has no SIMD row kernel: the compiler's auto-vectorised loop is at memory speed. */
void cc_bias_act_f64(double *y, const double *x, const double *bias, int activation,
                     int64_t n, int64_t c, int64_t l, int n_threads)
{
    int64_t rows = n * c;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (rows * l > 16384)
    for (int64_t r = 0; r < rows; r++) {
        double b = bias ? bias[r % c] : 0.0;
        const double *xr = x + r * l;
        double *yr = y + r * l;
        for (int64_t i = 0; i < l; i++) {
            double v = xr[i] + b;
            yr[i] = (activation == CC_ACT_RELU && v < 0.0) ? 0.0 : v;
        }
    }
}
