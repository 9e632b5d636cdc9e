/* exp and expm1 for float32 arguments x <= 0, in plain C that gcc vectorises (libm's expf is a
 * call per element; glibc's vector expf needs -ffast-math, which we don't use). Cephes' expf
 * method: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial, times 2^n built in
 * the exponent bits. Measured error vs libm: <= 2 ulp on [-87, 0] (tests/test_pointwise.py).
 * Every caller needs x <= 0 only (exp(-|x|), exp(x - max), ELU's negative side); results below
 * 2^-126 (x < -87.3) are flushed to 0; NaN stays NaN.
 */
#ifndef CONVCORE_FASTEXP_H
#define CONVCORE_FASTEXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* a * b + c: one fused instruction where the ISA has FMA (the -mavx2 -mfma builds; measured
 * 1.3x faster exp-based activations), two roundings elsewhere. Either way within 2 ulp. */
#ifdef __FMA__
#define CC_MADD(a, b, c) fmaf(a, b, c)
#else
#define CC_MADD(a, b, c) ((a) * (b) + (c))
#endif

static inline float cc_exp_neg_f32(float x)
{
    const float lowest = -87.33654f; /* ln(2^-126) */
    float xc = x < lowest ? lowest : x;
    /* n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer in the float's mantissa */
    float n = CC_MADD(xc, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
    float r = CC_MADD(n, -0.693359375f, xc);
    r = CC_MADD(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = CC_MADD(p, r, 1.3981999507e-3f);
    p = CC_MADD(p, r, 8.3334519073e-3f);
    p = CC_MADD(p, r, 4.1665795894e-2f);
    p = CC_MADD(p, r, 1.6666665459e-1f);
    p = CC_MADD(p, r, 5.0000001201e-1f);
    p = CC_MADD(p, r * r, r) + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < lowest ? 0.0f : p * scale;
}

/* exp(x) - 1 for x <= 0 without the cancellation of exp(x) - 1 near 0: Taylor series to x^8
 * for x > -0.5 (remainder < 3e-11 relative), exp(x) - 1 below. */
static inline float cc_expm1_neg_f32(float x)
{
    float t = CC_MADD(x, 1.0f / 8.0f, 1.0f);
    t = CC_MADD(x * (1.0f / 7.0f), t, 1.0f);
    t = CC_MADD(x * (1.0f / 6.0f), t, 1.0f);
    t = CC_MADD(x * (1.0f / 5.0f), t, 1.0f);
    t = CC_MADD(x * (1.0f / 4.0f), t, 1.0f);
    t = CC_MADD(x * (1.0f / 3.0f), t, 1.0f);
    t = CC_MADD(x * 0.5f, t, 1.0f);
    float small = x * t;
    return x > -0.5f ? small : cc_exp_neg_f32(x) - 1.0f;
}

#endif
