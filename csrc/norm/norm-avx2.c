/* Batch norm kernels compiled with the avx2 flags: the same source as the portable ones
 * (norm_impl.h), vectorised by the compiler for this ISA. Legend in norm.h. */
#define ISA avx2
#define REAL float
#define TAG f32
#include "norm_impl.h"
#define REAL double
#define TAG f64
#include "norm_impl.h"
