/* Integer helpers of the convolution engines' block arithmetic, and their thread-count rule. */
#ifndef CONVCORE_CONV_BLOCKING_H
#define CONVCORE_CONV_BLOCKING_H

#include <stdint.h>
#include <stdlib.h>

static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* 64-byte aligned memory (free() releases it), with room to spare past `bytes`. */
static inline void *alloc64(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

/* A thread's scratch buffer inside a parallel region: on failure, sets *failed (the caller's
 * shared flag) and returns NULL; the thread then skips its items and the call returns -1. */
static inline void *thread_scratch(size_t bytes, int *failed)
{
    void *buffer = alloc64(bytes);
    if (!buffer) {
#pragma omp atomic write
        *failed = 1;
    }
    return buffer;
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
