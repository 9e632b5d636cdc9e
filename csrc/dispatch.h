/* Run-time choice of the instruction set, and what the build compiled in.
 *
 * Each op family keeps its own small table of ISA-specific functions and picks from it with a
 * switch on cc_active_isa(); this file only knows which ISAs exist, which were compiled (the
 * CONVCORE_HAVE_<ISA> macros set by setup.py) and which one the CPU can run.
 */
#ifndef CONVCORE_DISPATCH_H
#define CONVCORE_DISPATCH_H

enum cc_isa { CC_ISA_SCALAR = 0, CC_ISA_AVX2 = 1, CC_ISA_AVX512 = 2, CC_ISA_COUNT = 3 };

/* The ISA the kernels use now: the best one the CPU runs, unless cc_set_isa chose another. */
int cc_active_isa(void);
/* Use `isa` from now on; returns 0, or -1 (and changes nothing) if it can't run here. */
int cc_set_isa(int isa);
/* 1 if `isa` was compiled into this build and the CPU (and OS) can execute it. */
int cc_isa_runnable(int isa);
int cc_isa_compiled(int isa);
const char *cc_isa_name(int isa);

const char *cc_compiler_version(void);
int cc_openmp_enabled(void);
/* omp_get_max_threads() (honours OMP_NUM_THREADS and threadpoolctl), 1 without OpenMP. */
int cc_openmp_max_threads(void);

#ifdef CONVCORE_HAVE_AVX512
#define CASE_AVX512(fn, args)                                                                    \
    case CC_ISA_AVX512: fn##_avx512 args; return;
#else
#define CASE_AVX512(fn, args)
#endif
#ifdef CONVCORE_HAVE_AVX2
#define CASE_AVX2(fn, args)                                                                      \
    case CC_ISA_AVX2: fn##_avx2 args; return;
#else
#define CASE_AVX2(fn, args)
#endif
/* Call fn_<active isa> args and return (for the families whose functions are named
 * <fn>_scalar, <fn>_avx2, <fn>_avx512). */
#define CC_DISPATCH(fn, args)                                                                    \
    switch (cc_active_isa()) {                                                                   \
        CASE_AVX512(fn, args)                                                                    \
        CASE_AVX2(fn, args)                                                                      \
    default: fn##_scalar args; return;                                                           \
    }

#endif
