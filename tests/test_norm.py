"""Compiled batch norm (convcore.functional) vs the NumPy reference and torch, every ISA."""

import numpy as np
import pytest

import convcore
from convcore import functional as F
from convcore import reference as R
from convcore.testing import gradcheck

SHAPES_2D = [(2, 3, 5, 7), (1, 4, 3, 3), (8, 2, 1, 1), (3, 1, 17, 19), (2, 5, 16, 16)]
SHAPES_1D = [(4, 3), (2, 7), (33, 2), (64, 70)]


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


def params(c, dtype, rng):
    gamma = (1 + 0.5 * rng.standard_normal(c)).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    rm = rng.standard_normal(c).astype(dtype)
    rv = (0.5 + rng.random(c)).astype(dtype)
    return gamma, beta, rm, rv


def fns(ndim):
    if ndim == 4:
        return F.batch_norm2d, F.batch_norm2d_backward, R.batch_norm2d, R.batch_norm2d_backward
    return F.batch_norm1d, F.batch_norm1d_backward, R.batch_norm1d, R.batch_norm1d_backward


@pytest.mark.parametrize("shape", SHAPES_2D + SHAPES_1D)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_batch_norm_matches_reference(isa, shape, dtype, training, activation, rng):
    fwd, bwd, fwd_ref, bwd_ref = fns(len(shape))
    x = (3 + 2 * rng.standard_normal(shape)).astype(dtype)
    gamma, beta, rm, rv = params(shape[1], dtype, rng)
    rm_ref, rv_ref = rm.copy(), rv.copy()
    x_before = x.copy()
    out = fwd(x, gamma, beta, rm, rv, training, 0.1, 1e-5, activation)
    ref = fwd_ref(x, gamma, beta, rm_ref, rv_ref, training, 0.1, 1e-5, activation)
    for got, want in zip(out, ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol(dtype))
    np.testing.assert_allclose(rm, rm_ref, **tol(dtype))
    np.testing.assert_allclose(rv, rv_ref, **tol(dtype))
    np.testing.assert_array_equal(x, x_before)

    y, save_mean, save_invstd = out
    gy = rng.standard_normal(shape).astype(dtype)
    got = bwd(gy, x, gamma, save_mean, save_invstd, training, y, activation)
    want = bwd_ref(gy, x, gamma, save_mean, save_invstd, training, y, activation)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_large_offset(isa, dtype, rng):
    # 1e4 + N(0, 1): a naive float sum of squares loses the variance; ours keeps it.
    x = (1e4 + rng.standard_normal((16, 3, 9, 9))).astype(dtype)
    gamma, beta, rm, rv = params(3, dtype, rng)
    y, mean, invstd = F.batch_norm2d(x, gamma, beta, rm, rv)
    x64 = x.astype(np.float64)
    true_mean = x64.mean(axis=(0, 2, 3))
    true_var = x64.var(axis=(0, 2, 3))
    exact = dict(rtol=1e-6, atol=0) if dtype == np.float32 else dict(rtol=1e-12, atol=0)
    np.testing.assert_allclose(mean, true_mean, **exact)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(true_var + 1e-5), **exact)
    y_true = ((x64 - true_mean[:, None, None]) / np.sqrt(true_var[:, None, None] + 1e-5)
              * gamma[:, None, None] + beta[:, None, None])
    np.testing.assert_allclose(y, y_true, **tol(dtype))
    # the batch is normalised: per-channel mean ~ beta, std ~ |gamma|
    np.testing.assert_allclose(y.astype(np.float64).mean(axis=(0, 2, 3)), beta, atol=1e-3)


@pytest.mark.parametrize("ndim", [2, 4])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_batch_norm_matches_torch(ndim, activation, rng):
    torch = pytest.importorskip("torch")
    shape = (6, 5, 7, 3) if ndim == 4 else (9, 5)
    fwd, bwd, _, _ = fns(ndim)
    x = rng.standard_normal(shape)
    gamma, beta, rm, rv = params(5, np.float64, rng)
    gy = rng.standard_normal(shape)
    rm_t, rv_t = torch.tensor(rm), torch.tensor(rv)
    xt = torch.from_numpy(x).requires_grad_()
    gt = torch.from_numpy(gamma).requires_grad_()
    bt = torch.from_numpy(beta).requires_grad_()
    yt = torch.nn.functional.batch_norm(xt, rm_t, rv_t, gt, bt, True, 0.1, 1e-5)
    if activation:
        yt = torch.relu(yt)
    yt.backward(torch.from_numpy(gy))
    y, mean, invstd = fwd(x, gamma, beta, rm, rv, activation=activation)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, rm_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, rv_t.numpy(), rtol=1e-12)
    gx, gg, gb = bwd(gy, x, gamma, mean, invstd, y=y, activation=activation)
    for got, want in ((gx, xt.grad), (gg, gt.grad), (gb, bt.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)
    # eval mode against torch too
    ye = torch.nn.functional.batch_norm(torch.from_numpy(x), rm_t, rv_t, torch.tensor(gamma),
                                        torch.tensor(beta), False, 0.1, 1e-5)
    np.testing.assert_allclose(fwd(x, gamma, beta, rm, rv, training=False)[0], ye.numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_batch_norm_gradcheck(training, activation, rng):
    x = rng.standard_normal((3, 2, 3, 4))
    gamma, beta, rm, rv = params(2, np.float64, rng)

    def forward(x, gamma, beta):
        return F.batch_norm2d(x, gamma, beta, rm.copy(), rv.copy(), training,
                              activation=activation)[0]

    def backward(g, x, gamma, beta):
        y, mean, invstd = F.batch_norm2d(x, gamma, beta, rm.copy(), rv.copy(), training,
                                         activation=activation)
        return F.batch_norm2d_backward(g, x, gamma, mean, invstd, training, y, activation)

    assert gradcheck(forward, backward, [x, gamma, beta], atol=1e-5, rtol=1e-4)


def test_batch_norm_threads_bit_identical(rng):
    for shape in [(8, 16, 33, 31), (64, 3, 20, 20), (512, 40)]:
        x = rng.standard_normal(shape).astype(np.float32)
        gamma, beta, rm, rv = params(shape[1], np.float32, rng)
        gy = rng.standard_normal(shape).astype(np.float32)
        fwd, bwd, _, _ = fns(len(shape))
        results = []
        for n in (1, 2):
            convcore.set_num_threads(n)
            r_m, r_v = rm.copy(), rv.copy()
            y, mean, invstd = fwd(x, gamma, beta, r_m, r_v, activation="relu")
            results.append([y, mean, invstd, r_m, r_v,
                            *bwd(gy, x, gamma, mean, invstd, y=y, activation="relu")])
        convcore.set_num_threads(None)
        for a, b in zip(*results):
            np.testing.assert_array_equal(a, b)


def test_batch_norm_non_contiguous_inputs(rng):
    base = rng.standard_normal((4, 6, 10, 8)).astype(np.float32)
    x = base[:, ::2, :, ::2]
    gamma, beta, rm, rv = params(3, np.float32, rng)
    rm_f = np.zeros(6, np.float32)
    rm_strided = rm_f[::2]
    rm_strided[...] = rm
    rm_ref = rm.copy()
    y = F.batch_norm2d(x, gamma, beta, rm_strided, rv.copy())[0]
    y_ref = R.batch_norm2d(x, gamma, beta, rm_ref, rv.copy())[0]
    np.testing.assert_allclose(y, y_ref, **tol(np.float32))
    np.testing.assert_allclose(rm_strided, rm_ref, **tol(np.float32))  # updated in place


def same_error(fn_a, fn_b, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as a:
        fn_a(*args, **kwargs)
    with pytest.raises(a.type) as b:
        fn_b(*args, **kwargs)
    assert str(a.value) == str(b.value)


def test_batch_norm_bad_arguments_as_reference(rng):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    g, b, rm, rv = params(3, np.float32, rng)
    same_error(F.batch_norm2d, R.batch_norm2d, x, g[:2], b)
    same_error(F.batch_norm2d, R.batch_norm2d, x, g.astype(np.float64), b)
    same_error(F.batch_norm2d, R.batch_norm2d, x[:1, :, :1, :1], g, b)     # 1 value/channel
    same_error(F.batch_norm2d, R.batch_norm2d, x, g, b, training=False)    # no running stats
    same_error(F.batch_norm2d, R.batch_norm2d, x, g, b, rm, None)
    same_error(F.batch_norm2d, R.batch_norm2d, x, g, b, momentum=2.0)
    same_error(F.batch_norm2d, R.batch_norm2d, x, g, b, activation="gelu")
    same_error(F.batch_norm1d, R.batch_norm1d, x, g, b)
    same_error(F.batch_norm2d_backward, R.batch_norm2d_backward, x, x, g, rm, rv,
               activation="relu")
    same_error(F.batch_norm2d_backward, R.batch_norm2d_backward, x[:1], x, g, rm, rv)
    same_error(F.batch_norm2d, R.batch_norm2d, np.zeros((0, 3, 2, 2), np.float32), g, b)


def test_batch_norm_isas_bit_identical(rng):
    """The AVX2 float32 sums keep the portable loop's 8-lane order: same bits on every ISA."""
    from convcore import _kernels

    x = (5 + rng.standard_normal((3, 4, 9, 13))).astype(np.float32)
    gamma, beta, _, _ = params(4, np.float32, rng)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    previous = _kernels.isa()
    results = {}
    for name in _kernels.available_isas():
        _kernels.set_isa(name)
        y, mean, invstd = F.batch_norm2d(x, gamma, beta)
        results[name] = [mean, invstd,
                         *F.batch_norm2d_backward(gy, x, gamma, mean, invstd)[1:]]
    _kernels.set_isa(previous)
    for got in results.values():
        for a, b in zip(got, results["scalar"]):
            np.testing.assert_array_equal(a, b)
