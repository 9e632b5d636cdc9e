"""Compiled pooling (convcore.functional) vs the NumPy reference and torch, every ISA."""

import numpy as np
import pytest

import convcore
from convcore import functional as F
from convcore import reference as R
from convcore.testing import gradcheck

# (x shape, kernel, stride, padding): odd and non-square sizes, N=1, overlap, padding, the
# hot 2x2/2 case with odd H/W and rows longer than one vector, kernel > 256 taps (int32 argmax).
CONFIGS = [
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 2, 9, 11), 2, 2, 0),
    ((2, 2, 6, 40), 2, 2, 0),
    ((3, 2, 7, 9), 3, 2, 1),
    ((1, 3, 11, 13), (3, 2), (2, 1), (1, 1)),
    ((2, 2, 5, 5), 3, 1, 1),
    ((1, 1, 4, 4), 4, 1, 2),
    ((2, 3, 7, 9), (2, 3), (3, 2), 0),
    ((1, 2, 13, 37), 5, 2, 2),
    ((1, 2, 17, 18), 17, 1, 0),
    ((2, 2, 9, 15), 3, 2, 0),           # stride 2 without padding: phases split from x itself
    ((1, 2, 8, 21), (2, 4), (1, 2), (1, 2)),
    ((1, 1, 3, 3), 1, 1, 0),
]
DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("shape, k, s, p", CONFIGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_matches_reference(isa, shape, k, s, p, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x_before = x.copy()
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    y_ref, idx_ref = R.max_pool2d(x, k, s, p, return_indices=True)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert y.dtype == dtype and idx.dtype == np.int64
    np.testing.assert_array_equal(F.max_pool2d(x, k, s, p), y)
    y2, argmax = F.max_pool2d_with_argmax(x, k, s, p)
    np.testing.assert_array_equal(y2, y)
    kh, kw = (k, k) if isinstance(k, int) else k
    assert argmax.dtype == (np.uint8 if kh * kw <= 256 else np.int32)

    gy = rng.standard_normal(y.shape).astype(dtype)
    g_ref = R.max_pool2d_backward(gy, x, k, s, p)
    for g in (F.max_pool2d_backward(gy, x, k, s, p),
              F.max_pool2d_backward(gy, x, k, s, p, indices=idx),
              F.max_pool2d_backward_argmax(gy, argmax, x.shape, k, s, p)):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, g_ref, **tol(dtype))
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("shape, k, s, p", CONFIGS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_matches_reference(isa, shape, k, s, p, count_include_pad, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = F.avg_pool2d(x, k, s, p, count_include_pad)
    np.testing.assert_allclose(y, R.avg_pool2d(x, k, s, p, count_include_pad), **tol(dtype))
    gy = rng.standard_normal(y.shape).astype(dtype)
    g = F.avg_pool2d_backward(gy, x.shape, k, s, p, count_include_pad)
    g_ref = R.avg_pool2d_backward(gy, x.shape, k, s, p, count_include_pad)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, g_ref, **tol(dtype))


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 1, 1, 1), (3, 5, 7, 3), (2, 4, 1, 37)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool_matches_reference(isa, shape, dtype, rng):
    x = (100 + rng.standard_normal(shape)).astype(dtype)
    y = F.global_avg_pool2d(x)
    np.testing.assert_allclose(y, R.global_avg_pool2d(x), **tol(dtype))
    gy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(F.global_avg_pool2d_backward(gy, shape),
                               R.global_avg_pool2d_backward(gy, shape), **tol(dtype))


def test_max_pool_ties_and_nan_pick_the_first(isa, rng):
    # Values in {0, 1, 2}: most windows have ties; the first position in the window wins.
    x = rng.integers(0, 3, (2, 3, 10, 12)).astype(np.float32)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1)]:
        _, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        np.testing.assert_array_equal(idx, R.max_pool2d(x, k, s, p, return_indices=True)[1])
    x = rng.standard_normal((1, 2, 8, 18)).astype(np.float32)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = x[0, 1, 5, 9] = np.nan
    for k, s, p in [(2, 2, 0), (3, 2, 1)]:
        y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        y_ref, idx_ref = R.max_pool2d(x, k, s, p, return_indices=True)
        np.testing.assert_array_equal(y, y_ref)  # NaN positions equal too
        np.testing.assert_array_equal(idx, idx_ref)


torch_configs = [c for c in CONFIGS if c[1] != 17]


@pytest.mark.parametrize("shape, k, s, p", torch_configs)
def test_pool_matches_torch(shape, k, s, p, rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal(shape)
    gy_shape = F.max_pool2d(x, k, s, p).shape
    gy = rng.standard_normal(gy_shape)
    xt = torch.from_numpy(x).requires_grad_()
    yt, it = tf.max_pool2d(xt, k, s if s is not None else k, p, return_indices=True)
    yt.backward(torch.from_numpy(gy))
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(idx, it.numpy())
    np.testing.assert_allclose(F.max_pool2d_backward(gy, x, k, s, p), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-13)
    for cip in (True, False):
        xt = torch.from_numpy(x).requires_grad_()
        yt = tf.avg_pool2d(xt, k, s if s is not None else k, p, count_include_pad=cip)
        yt.backward(torch.from_numpy(gy))
        np.testing.assert_allclose(F.avg_pool2d(x, k, s, p, cip), yt.detach().numpy(),
                                   rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(F.avg_pool2d_backward(gy, x.shape, k, s, p, cip),
                                   xt.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (2, 1, 1)])
def test_pool_gradcheck(k, s, p, rng):
    x = rng.standard_normal((1, 2, 5, 6))
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p),
                     lambda g, x: F.max_pool2d_backward(g, x, k, s, p), [x])
    assert gradcheck(lambda x: F.avg_pool2d(x, k, s, p, False),
                     lambda g, x: F.avg_pool2d_backward(g, x.shape, k, s, p, False), [x])
    assert gradcheck(lambda x: F.global_avg_pool2d(x),
                     lambda g, x: F.global_avg_pool2d_backward(g, x.shape), [x])


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1)])
def test_pool_threads_bit_identical(k, s, p, rng):
    x = rng.standard_normal((4, 8, 33, 35)).astype(np.float32)
    gy = rng.standard_normal(F.max_pool2d(x, k, s, p).shape).astype(np.float32)
    results = []
    for n in (1, 2):
        convcore.set_num_threads(n)
        y, am = F.max_pool2d_with_argmax(x, k, s, p)
        results.append([y, am, F.max_pool2d_backward_argmax(gy, am, x.shape, k, s, p),
                        F.avg_pool2d(x, k, s, p), F.avg_pool2d_backward(gy, x.shape, k, s, p),
                        F.global_avg_pool2d(x)])
    convcore.set_num_threads(None)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_pool_non_contiguous_and_read_only_inputs(rng):
    base = rng.standard_normal((2, 3, 12, 14)).astype(np.float32)
    for x in (base[:, :, ::2, 1::2], np.asfortranarray(base), base.transpose(0, 1, 3, 2)):
        np.testing.assert_array_equal(F.max_pool2d(x, 2), R.max_pool2d(x, 2))
        np.testing.assert_allclose(F.avg_pool2d(x, 3, 2, 1), R.avg_pool2d(x, 3, 2, 1),
                                   **tol(np.float32))
    ro = base.copy()
    ro.flags.writeable = False
    y, am = F.max_pool2d_with_argmax(ro, 2)
    gy = np.ones_like(y)
    gy.flags.writeable = False
    np.testing.assert_array_equal(F.max_pool2d_backward_argmax(gy, am, ro.shape, 2),
                                  R.max_pool2d_backward(gy, ro, 2))


def test_pool_empty_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.shape == idx.shape == (0, 3, 4, 4)
    assert F.avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert F.max_pool2d_backward(y, x, 2).shape == x.shape
    assert F.avg_pool2d_backward(y, x.shape, 2).shape == x.shape
    assert F.global_avg_pool2d(x).shape == (0, 3, 1, 1)


def test_bogus_argmax_never_writes_out_of_bounds(rng):
    x = rng.standard_normal((2, 2, 7, 7)).astype(np.float32)
    gy = np.ones((2, 2, 4, 4), np.float32)
    for value in (0, 8, 255):   # 0 points into the padding for the corner windows
        argmax = np.full(gy.shape, value, np.uint8)
        g = F.max_pool2d_backward_argmax(gy, argmax, x.shape, 3, 2, 1)
        assert np.isfinite(g).all() and g.sum() <= gy.sum()


def same_error(fn_a, fn_b, *args, **kwargs):
    """Both raise the same exception type with the same message."""
    with pytest.raises((TypeError, ValueError)) as a:
        fn_a(*args, **kwargs)
    with pytest.raises(a.type) as b:
        fn_b(*args, **kwargs)
    assert str(a.value) == str(b.value)


def test_pool_bad_arguments_as_reference():
    x = np.zeros((1, 2, 5, 5), np.float32)
    for name in ("max_pool2d", "avg_pool2d"):
        f, r = getattr(F, name), getattr(R, name)
        same_error(f, r, x, 6)                       # window larger than the input
        same_error(f, r, x, 3, 1, 2)                 # padding more than half the window
        same_error(f, r, x.astype(np.int32), 2)      # dtype
        same_error(f, r, x[0], 2)                    # ndim
        same_error(f, r, x.tolist(), 2)              # not an array
        same_error(f, r, x, 0)                       # kernel < 1
    same_error(F.max_pool2d_backward, R.max_pool2d_backward, np.zeros((1, 2, 3, 3), np.float32),
               x, 2)
    same_error(F.max_pool2d_backward, R.max_pool2d_backward, np.zeros((1, 2, 2, 2)), x, 2)
    same_error(F.max_pool2d_backward, R.max_pool2d_backward, np.zeros((1, 2, 2, 2), np.float32),
               x, 2, indices=np.full((1, 2, 2, 2), 25))
    same_error(F.avg_pool2d_backward, R.avg_pool2d_backward, np.zeros((1, 2, 3, 3), np.float32),
               x.shape, 2)
    same_error(F.global_avg_pool2d, R.global_avg_pool2d, np.zeros((1, 2, 0, 3), np.float32))
    with pytest.raises(TypeError, match="argmax"):
        F.max_pool2d_backward_argmax(np.zeros((1, 2, 2, 2), np.float32),
                                     np.zeros((1, 2, 2, 2), np.int64), x.shape, 2)
    with pytest.raises(ValueError, match="argmax"):
        F.max_pool2d_backward_argmax(np.zeros((1, 2, 2, 2), np.float32),
                                     np.zeros((1, 2, 2, 3), np.uint8), x.shape, 2)
    with pytest.raises(TypeError, match="count_include_pad"):
        F.avg_pool2d(x, 2, count_include_pad=1)
    with pytest.raises(TypeError, match="return_indices"):
        F.max_pool2d(x, 2, return_indices="yes")
