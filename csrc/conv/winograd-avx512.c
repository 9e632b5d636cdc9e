/* Winograd F(2x2, 3x3) tile transforms, compiled with the avx512 flags (the code is winograd_impl.h). */
#define ISA avx512
#include "winograd_impl.h"
