/* CPU detection and the active ISA (see dispatch.h). Compiled as portable C. */
#include "dispatch.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int active_isa = -1; /* -1 until first use; then a CC_ISA_* value */

int cc_isa_compiled(int isa)
{
    switch (isa) {
    case CC_ISA_SCALAR: return 1;
#ifdef CONVCORE_HAVE_AVX2
    case CC_ISA_AVX2: return 1;
#endif
#ifdef CONVCORE_HAVE_AVX512
    case CC_ISA_AVX512: return 1;
#endif
    default: return 0;
    }
}

/* __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0). */
static int cpu_runs(int isa)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    switch (isa) {
    case CC_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CC_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma");
    }
#endif
    return isa == CC_ISA_SCALAR;
}

int cc_isa_runnable(int isa) { return cc_isa_compiled(isa) && cpu_runs(isa); }

int cc_active_isa(void)
{
    /* A benign race: every thread that gets here first computes the same value. */
    if (active_isa < 0) {
        int best = CC_ISA_SCALAR;
        for (int isa = CC_ISA_SCALAR; isa < CC_ISA_COUNT; isa++)
            if (cc_isa_runnable(isa))
                best = isa;
        active_isa = best;
    }
    return active_isa;
}

int cc_set_isa(int isa)
{
    if (isa < 0 || isa >= CC_ISA_COUNT || !cc_isa_runnable(isa))
        return -1;
    active_isa = isa;
    return 0;
}

const char *cc_isa_name(int isa)
{
    static const char *names[CC_ISA_COUNT] = {"scalar", "avx2", "avx512"};
    return (isa >= 0 && isa < CC_ISA_COUNT) ? names[isa] : "unknown";
}

const char *cc_compiler_version(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown C compiler";
#endif
}

int cc_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int cc_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
