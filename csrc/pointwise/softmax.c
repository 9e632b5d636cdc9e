/* Softmax family, cross-entropy and the MSE sum (portable C, both dtypes): see softmax_impl.h. */
#include <math.h>
#include <stdlib.h>

#include "fastexp.h"
#include "pointwise.h"

#define REAL float
#define TAG f32
#define CC_REAL_IS_F32 1
#include "softmax_impl.h"
#define REAL double
#define TAG f64
#include "softmax_impl.h"
