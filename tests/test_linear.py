"""Compiled linear (on the conv engine's 1x1 GEMM) against the reference, every ISA."""

import numpy as np
import pytest

import convcore
from convcore import functional as F
from convcore import reference as R
from convcore.testing import assert_close

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 3, 10), (17, 33, 17), (64, 128, 10), (3, 300, 65),
          (70, 9, 129)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,i,o", SHAPES)
def test_linear_forward_backward_vs_reference(isa, n, i, o, dtype, rng):
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((o, i)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    gy = rng.standard_normal((n, o)).astype(dtype)
    assert_close(F.linear(x, w, b), R.linear(x, w, b))
    assert_close(F.linear(x, w), R.linear(x, w))
    for got, want in zip(F.linear_backward(gy, x, w), R.linear_backward(gy, x, w)):
        assert got.dtype == dtype
        assert_close(got, want)


def test_linear_views_and_threads(rng):
    x = rng.standard_normal((40, 70)).astype(np.float32)
    w = rng.standard_normal((30, 35)).astype(np.float32)
    x_view = x[::-1, ::2]                      # negative and non-unit strides
    w_fortran = np.asfortranarray(w)
    want = R.linear(np.ascontiguousarray(x_view), w)
    outs = []
    for threads in (1, 2):
        convcore.set_num_threads(threads)
        outs.append(F.linear(x_view, w_fortran))
    convcore.set_num_threads(None)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert_close(outs[0], want)


def test_linear_empty_batch():
    x = np.zeros((0, 4), np.float32)
    w = np.ones((3, 4), np.float32)
    assert F.linear(x, w).shape == (0, 3)
    gx, gw, gb = F.linear_backward(np.zeros((0, 3), np.float32), x, w)
    assert gx.shape == (0, 4) and not gw.any() and not gb.any()
