/* Integer helpers of the convolution engines' block arithmetic, and their thread-count rule. */
#ifndef CONVCORE_CONV_BLOCKING_H
#define CONVCORE_CONV_BLOCKING_H

#include <stdint.h>

static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Threads for a parallel loop: at most one per work item, and one per ~1 MFLOP of work, so
 * tiny problems don't pay for waking threads (40-160 us per parallel region on a VM). */
#define CC_MIN_FLOPS_PER_THREAD 1e6
static inline int threads_for(int64_t items, double flops, int n_threads)
{
    int64_t nt = min64(n_threads, items);
    nt = min64(nt, (int64_t)(flops / CC_MIN_FLOPS_PER_THREAD));
    return nt < 1 ? 1 : (int)nt;
}

#endif
