/* convcore's C kernels: one header per op family. Conventions (DESIGN.md): outputs first, then
 * saved buffers, inputs, hyper-parameters, dimensions, and the thread count last. Kernels trust
 * their arguments (checked in Python) and never fail. */
#ifndef CONVCORE_H
#define CONVCORE_H

#include "dispatch.h"
#include "pointwise/pointwise.h"
#include "norm/norm.h"
#include "pool/pool.h"
#include "conv/conv.h"
#include "bench/bench.h"

#endif
