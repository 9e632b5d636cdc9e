# Run-time configuration shared by every kernel: the active ISA and the thread count.

cdef extern from "convcore.h" nogil:
    int cc_active_isa()
    int cc_set_isa(int isa)
    int cc_isa_runnable(int isa)
    int cc_isa_compiled(int isa)
    const char *cc_isa_name(int isa)
    const char *cc_compiler_version()
    int cc_openmp_enabled()
    int cc_openmp_max_threads()
    int CC_ISA_COUNT

ctypedef fused floating:
    float
    double

ISA_NAMES = tuple(cc_isa_name(i).decode() for i in range(CC_ISA_COUNT))

# 0 means "not set": follow OpenMP (OMP_NUM_THREADS, threadpoolctl), worked out per call.
cdef int user_n_threads = 0


cdef int effective_n_threads() noexcept nogil:
    if not cc_openmp_enabled():
        return 1
    if user_n_threads > 0:
        return user_n_threads
    return max(1, cc_openmp_max_threads())


def set_user_n_threads(int n):
    """Set convcore's thread count (0: back to the OpenMP default)."""
    global user_n_threads
    user_n_threads = n


def n_threads():
    return effective_n_threads()


def isa():
    """Name of the ISA the kernels use now."""
    return ISA_NAMES[cc_active_isa()]


def set_isa(str name):
    """Use the kernels of ISA `name` ("scalar", "avx2", "avx512") from now on."""
    if name not in ISA_NAMES:
        raise ValueError(f"unknown ISA {name!r}; expected one of {ISA_NAMES}")
    if cc_set_isa(ISA_NAMES.index(name)) != 0:
        raise ValueError(f"ISA {name!r} can't run here: compiled {compiled_isas()}, "
                         f"runnable on this CPU {available_isas()}")


def compiled_isas():
    return [name for i, name in enumerate(ISA_NAMES) if cc_isa_compiled(i)]


def available_isas():
    """The ISAs compiled in that this CPU can execute."""
    return [name for i, name in enumerate(ISA_NAMES) if cc_isa_runnable(i)]


def compiler():
    return cc_compiler_version().decode()


def openmp_enabled():
    return bool(cc_openmp_enabled())
