/* Pooling kernels compiled with the avx512 flags: the same source as the portable ones
 * (pool_impl.h), vectorised by the compiler for this ISA. Legend in pool.h. */
#define ISA avx512
#define REAL float
#define TAG f32
#include "pool_impl.h"
#define REAL double
#define TAG f64
#include "pool_impl.h"
