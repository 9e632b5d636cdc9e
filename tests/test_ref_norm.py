"""convcore.reference batch norm (2d and 1d) vs torch: training (batch statistics, running
statistics updated in place) and eval, fused ReLU, large mean offset; forward and backward."""

import numpy as np
import pytest
from _torchref import DTYPES, assert_like_torch, tensor

from convcore import reference as R

torch = pytest.importorskip("torch")
Fn = torch.nn.functional

SHAPES_2D = [(4, 3, 5, 5), (1, 2, 3, 4), (8, 5, 1, 1), (3, 1, 7, 2)]
SHAPES_1D = [(4, 3), (2, 7), (16, 1)]


def _case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2.0 + 0.5).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    running_mean = rng.standard_normal(c).astype(dtype)
    running_var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return rng, x, gamma, beta, running_mean, running_var


def _forward_fn(ndim):
    return (R.batch_norm2d, R.batch_norm2d_backward) if ndim == 4 else (
        R.batch_norm1d, R.batch_norm1d_backward)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", SHAPES_2D + SHAPES_1D)
def test_batch_norm_vs_torch(shape, training, dtype):
    forward, backward = _forward_fn(len(shape))
    rng, x, gamma, beta, rm, rv = _case(shape, dtype)
    rm_t, rv_t = tensor(torch, rm), tensor(torch, rv)
    momentum, eps = 0.2, 1e-4
    y, save_mean, save_invstd = forward(x, gamma, beta, rm, rv, training=training,
                                        momentum=momentum, eps=eps)
    xt, gt, bt = tensor(torch, x, True), tensor(torch, gamma, True), tensor(torch, beta, True)
    yt = Fn.batch_norm(xt, rm_t, rv_t, gt, bt, training=training, momentum=momentum, eps=eps)
    assert_like_torch(y, yt)
    assert_like_torch(rm, rm_t)                  # updated in place (training) or untouched
    assert_like_torch(rv, rv_t)

    axes = (0,) + tuple(range(2, len(shape)))
    x64 = x.astype(np.float64)
    if training:
        expected_mean, expected_var = x64.mean(axes), x64.var(axes)
    else:
        expected_mean, expected_var = rm.astype(np.float64), rv.astype(np.float64)
    assert_like_torch(save_mean, expected_mean.astype(dtype))
    assert_like_torch(save_invstd, (1 / np.sqrt(expected_var + eps)).astype(dtype))

    grad_y = rng.standard_normal(shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx, ggamma, gbeta = backward(grad_y, x, gamma, save_mean, save_invstd, training=training)
    assert_like_torch(gx, xt.grad)
    assert_like_torch(ggamma, gt.grad)
    assert_like_torch(gbeta, bt.grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm2d_running_stats_follow_torch_over_steps(dtype):
    rng, _, gamma, beta, rm, rv = _case((4, 3, 5, 5), dtype)
    rm_t, rv_t = tensor(torch, rm), tensor(torch, rv)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)).astype(dtype) * 3 + 1
        R.batch_norm2d(x, gamma, beta, rm, rv, training=True)
        Fn.batch_norm(tensor(torch, x), rm_t, rv_t, tensor(torch, gamma), tensor(torch, beta),
                      training=True)
    assert rm.dtype == dtype and rv.dtype == dtype
    assert_like_torch(rm, rm_t)
    assert_like_torch(rv, rv_t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm2d_training_without_running_stats(dtype):
    _, x, gamma, beta, _, _ = _case((2, 3, 4, 4), dtype)
    y, _, _ = R.batch_norm2d(x, gamma, beta)
    yt = Fn.batch_norm(tensor(torch, x), None, None, tensor(torch, gamma), tensor(torch, beta),
                       training=True)
    assert_like_torch(y, yt)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm2d_large_mean_offset(dtype):
    """x = 1e4 + N(0, 1): a one-pass E[x^2] - E[x]^2 in float32 would lose the variance."""
    rng, _, gamma, beta, rm, rv = _case((8, 2, 6, 6), dtype)
    x = (1e4 + rng.standard_normal((8, 2, 6, 6))).astype(dtype)
    ones, zeros = np.ones(2, dtype), np.zeros(2, dtype)
    y, save_mean, save_invstd = R.batch_norm2d(x, ones, zeros, rm, rv)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(save_invstd, 1 / np.sqrt(x64.var((0, 2, 3)) + 1e-5), rtol=1e-6)
    # Normalised output: mean 0, variance 1 per channel (up to eps and float32 input rounding).
    np.testing.assert_allclose(y.astype(np.float64).mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.astype(np.float64).var((0, 2, 3)), 1, atol=1e-4)
    xt = tensor(torch, x, True)
    yt = Fn.batch_norm(xt, None, None, tensor(torch, ones), tensor(torch, zeros), training=True)
    # float32: x itself is only known to ~1e-3 at 1e4, and torch rounds its mean to float32.
    tol = 1e-10 if dtype == np.float64 else 2e-3
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=tol, rtol=tol)
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx, _, _ = R.batch_norm2d_backward(grad_y, x, ones, save_mean, save_invstd)
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=tol * 5, rtol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 4)])
def test_batch_norm_fused_relu_vs_torch(shape, training, dtype):
    forward, backward = _forward_fn(len(shape))
    rng, x, gamma, beta, rm, rv = _case(shape, dtype, seed=5)
    y, save_mean, save_invstd = forward(x, gamma, beta, rm.copy(), rv.copy(), training=training,
                                        activation="relu")
    xt, gt, bt = tensor(torch, x, True), tensor(torch, gamma, True), tensor(torch, beta, True)
    yt = torch.relu(Fn.batch_norm(xt, tensor(torch, rm), tensor(torch, rv), gt, bt,
                                  training=training))
    assert_like_torch(y, yt)
    assert (y == 0).any() and (y > 0).any()
    grad_y = rng.standard_normal(shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx, ggamma, gbeta = backward(grad_y, x, gamma, save_mean, save_invstd, training=training,
                                 y=y, activation="relu")
    assert_like_torch(gx, xt.grad)
    assert_like_torch(ggamma, gt.grad)
    assert_like_torch(gbeta, bt.grad)


def test_batch_norm_eval_empty_batch_is_valid():
    c = 3
    y, _, _ = R.batch_norm2d(np.zeros((0, c, 4, 4)), np.ones(c), np.zeros(c), np.zeros(c),
                             np.ones(c), training=False)
    assert y.shape == (0, c, 4, 4)
