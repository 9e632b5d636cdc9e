# The one compiled extension of convcore: thin typed wrappers over the C kernels in csrc/.
# Arguments arrive checked, contiguous and of one dtype (convcore/_checks.py, convcore/functional);
# each wrapper releases the GIL and calls one C function. One .pxi per op family.

from libc.stdint cimport int8_t, int64_t, uint8_t

include "_runtime.pxi"
include "_pointwise.pxi"
include "_pool.pxi"
include "_norm.pxi"
include "_conv.pxi"
include "_bench.pxi"
