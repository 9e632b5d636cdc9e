/* AVX2 row of the bias + ReLU kernel (see bias_act.c): 8 floats per vector. */
#include <immintrin.h>

#include "pointwise.h"

void cc_bias_act_row_f32_avx2(float *y, const float *x, float bias, int activation, int64_t l)
{
    const __m256 vbias = _mm256_set1_ps(bias);
    const __m256 zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= l; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), vbias);
        if (activation == CC_ACT_RELU)
            v = _mm256_max_ps(zero, v); /* NaN in the 2nd operand passes through */
        _mm256_storeu_ps(y + i, v);
    }
    cc_bias_act_row_f32_scalar(y + i, x + i, bias, activation, l - i);
}
