/* float64 instance of the convolution engine (conv-engine.h). */
#include "../gemm/gemm.h"

#define CC_T double
#define CC_NAME(name) name##_f64
#define CC_CONFIG struct cc_gemm_config_f64
#define CC_GET_CONFIG cc_gemm_config_f64

#include "conv-engine.h"
