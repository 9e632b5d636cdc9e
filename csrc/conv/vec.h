/* float32 vectors of the ISA a file is compiled for, through GCC/Clang vector extensions:
 * explicit lanes without intrinsics, so one source serves SSE2 (the portable build), AVX2 and
 * AVX-512 (the Winograd transforms and the small-C direct kernel use them).
 *   cc_vec: CC_VEC_W floats; cc_vec_mask: as many int32 (what a comparison returns). */
#ifndef CONVCORE_CONV_VEC_H
#define CONVCORE_CONV_VEC_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define CC_VEC_W 16
#elif defined(__AVX__)
#define CC_VEC_W 8
#else
#define CC_VEC_W 4
#endif
typedef float cc_vec __attribute__((vector_size(CC_VEC_W * sizeof(float))));
typedef int32_t cc_vec_mask __attribute__((vector_size(CC_VEC_W * sizeof(int32_t))));

/* Unaligned load and store (memcpy of a constant size: one vector move). */
static inline cc_vec cc_vec_load(const float *p)
{
    cc_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void cc_vec_store(float *p, cc_vec v) { memcpy(p, &v, sizeof v); }

#endif
