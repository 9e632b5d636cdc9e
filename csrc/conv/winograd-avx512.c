/* Winograd F(2x2, 3x3) tile transforms compiled with the avx512 flags (code: winograd_impl.h). */
#define ISA avx512
#include "winograd_impl.h"
