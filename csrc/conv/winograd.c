/* Winograd F(2x2, 3x3) tile transforms, portable C, no ISA flags (the code is winograd_impl.h). */
#define ISA scalar
#include "winograd_impl.h"
