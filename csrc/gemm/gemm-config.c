/* One table of block sizes per ISA and dtype, and the run-time choice of the entry.
 *
 * Sizes for Zen 3 / Zen 4 (32 KB L1d, 512 KB-1 MB L2): KC x NR of B (16 KB at KC = 256 f32)
 * stays in L1 while the MR x KC panels of A stream by; an MC x KC block of A and the
 * KC x NC block of B share L2. */
#include "../dispatch.h"
#include "gemm.h"

static const struct cc_gemm_config_f32 config_f32[CC_ISA_COUNT] = {
    [CC_ISA_SCALAR] = {4, 8, 256, 64, 256, cc_f32_gemm_4x8__scalar, "f32-gemm-4x8-scalar",
                       4, 1, cc_f32_dot_4x3__scalar},
#ifdef CONVCORE_HAVE_AVX2
    [CC_ISA_AVX2] = {6, 16, 256, 72, 256, cc_f32_gemm_6x16__avx2, "f32-gemm-6x16-avx2",
                     4, 8, cc_f32_dot_4x3__avx2},
#endif
#ifdef CONVCORE_HAVE_AVX512
    [CC_ISA_AVX512] = {12, 32, 256, 96, 256, cc_f32_gemm_12x32__avx512,
                       "f32-gemm-12x32-avx512", 8, 16, cc_f32_dot_8x3__avx512},
#endif
};

static const struct cc_gemm_config_f64 config_f64[CC_ISA_COUNT] = {
    [CC_ISA_SCALAR] = {4, 8, 256, 64, 128, cc_f64_gemm_4x8__scalar, "f64-gemm-4x8-scalar",
                       4, 1, cc_f64_dot_4x3__scalar},
#ifdef CONVCORE_HAVE_AVX2
    [CC_ISA_AVX2] = {6, 8, 256, 72, 128, cc_f64_gemm_6x8__avx2, "f64-gemm-6x8-avx2",
                     4, 4, cc_f64_dot_4x3__avx2},
#endif
#ifdef CONVCORE_HAVE_AVX512
    [CC_ISA_AVX512] = {12, 16, 256, 96, 128, cc_f64_gemm_12x16__avx512,
                       "f64-gemm-12x16-avx512", 8, 8, cc_f64_dot_8x3__avx512},
#endif
};

/* cc_active_isa() only returns ISAs compiled in, so the entry it picks is always filled. */
const struct cc_gemm_config_f32 *cc_gemm_config_f32(void) { return &config_f32[cc_active_isa()]; }
const struct cc_gemm_config_f64 *cc_gemm_config_f64(void) { return &config_f64[cc_active_isa()]; }
