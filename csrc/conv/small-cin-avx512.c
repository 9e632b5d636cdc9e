/* Small-C direct convolution compiled with the avx512 flags (the code is small_cin_impl.h). */
#define ISA avx512
#include "small_cin_impl.h"
