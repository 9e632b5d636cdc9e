/* float32 instance of the convolution engine (conv-engine.h); portable C, the ISA-specific part
 * is the microkernel picked from the gemm table at run time. 3x3 stride-1 layers with many
 * channels go to Winograd (winograd-f32.c). Also the kernel-table queries. */
#include "../gemm/gemm.h"
#include "winograd.h"

#define CC_T float
#define CC_NAME(name) name##_f32
#define CC_CONFIG struct cc_gemm_config_f32
#define CC_GET_CONFIG cc_gemm_config_f32
#define CC_F32_SPECIAL_CASES

#include "conv-engine.h"

const char *cc_conv2d_kernel_name(int is_f64)
{
    return is_f64 ? cc_gemm_config_f64()->name : cc_gemm_config_f32()->name;
}

void cc_conv2d_block_sizes(int is_f64, int64_t sizes[5])
{
    if (is_f64) {
        const struct cc_gemm_config_f64 *c = cc_gemm_config_f64();
        const int64_t v[5] = {c->mr, c->nr, c->kc, c->mc, c->nc};
        for (int i = 0; i < 5; i++)
            sizes[i] = v[i];
    } else {
        const struct cc_gemm_config_f32 *c = cc_gemm_config_f32();
        const int64_t v[5] = {c->mr, c->nr, c->kc, c->mc, c->nc};
        for (int i = 0; i < 5; i++)
            sizes[i] = v[i];
    }
}

int cc_conv2d_uses_winograd(const struct cc_conv_geometry *geo, int is_f64)
{
    if (is_f64)
        return 0;
    const struct cc_conv_geometry flipped = flipped_geometry(geo);
    const int data = flipped_data_grad_applies(geo) && cc_winograd_f32_applies(&flipped);
    if (!cc_winograd_f32_applies(geo) && cc_conv2d_small_cin_applies(geo))
        return 8 | cc_winograd_f32_weight_grad_applies(geo) << 1;
    return cc_winograd_f32_applies(geo) | cc_winograd_f32_weight_grad_applies(geo) << 1 |
           data << 2;
}
