/* AVX-512 row of the bias + ReLU kernel (see bias_act.c): 16 floats per vector, masked tail. */
#include <immintrin.h>

#include "pointwise.h"

void cc_bias_act_row_f32_avx512(float *y, const float *x, float bias, int activation, int64_t l)
{
    const __m512 vbias = _mm512_set1_ps(bias);
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t i = 0; i < l; i += 16) {
        __mmask16 live = (l - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (l - i)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(live, x + i), vbias);
        if (activation == CC_ACT_RELU)
            v = _mm512_max_ps(zero, v); /* NaN in the 2nd operand passes through */
        _mm512_mask_storeu_ps(y + i, live, v);
    }
}
