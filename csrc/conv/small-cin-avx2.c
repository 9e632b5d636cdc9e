/* Small-C direct convolution compiled with the avx2 flags (the code is small_cin_impl.h). */
#define ISA avx2
#include "small_cin_impl.h"
