/* Activations, dropout and maxout compiled with the avx512 flags: the same source as the
 * portable ones (activation_impl.h), vectorised by the compiler for this ISA. */
#define ISA avx512
#define REAL float
#define TAG f32
#define CC_REAL_IS_F32 1
#include "activation_impl.h"
#define REAL double
#define TAG f64
#include "activation_impl.h"
