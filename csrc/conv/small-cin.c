/* Small-C direct convolution, portable build (the code is small_cin_impl.h), and the choice of
 * when it runs and on which ISA. */
#define ISA scalar
#include "small_cin_impl.h"

#include "../dispatch.h"

int cc_conv2d_small_cin_f32_avx2(float *y, const float *x, const float *weight,
                                 const float *bias, int activation,
                                 const struct cc_conv_geometry *geo, int n_threads);
int cc_conv2d_small_cin_f32_avx512(float *y, const float *x, const float *weight,
                                   const float *bias, int activation,
                                   const struct cc_conv_geometry *geo, int n_threads);

/* Up to this many input channels the direct kernel beats the implicit GEMM (measured, see
 * small_cin_impl.h); stride and dilation 1, one group. */
#define SMALL_CIN_MAX_CHANNELS 4

int cc_conv2d_small_cin_applies(const struct cc_conv_geometry *g)
{
    return g->c <= SMALL_CIN_MAX_CHANNELS && g->groups == 1 && g->stride_h == 1 &&
           g->stride_w == 1 && g->dil_h == 1 && g->dil_w == 1;
}

int cc_conv2d_small_cin_f32(float *y, const float *x, const float *weight, const float *bias,
                            int activation, const struct cc_conv_geometry *geo, int n_threads)
{
    switch (cc_active_isa()) {
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512:
        return cc_conv2d_small_cin_f32_avx512(y, x, weight, bias, activation, geo, n_threads);
#endif
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2:
        return cc_conv2d_small_cin_f32_avx2(y, x, weight, bias, activation, geo, n_threads);
#endif
    default:
        return cc_conv2d_small_cin_f32_scalar(y, x, weight, bias, activation, geo, n_threads);
    }
}
