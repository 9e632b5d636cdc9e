"""convcore.reference activations, maxout and dropout vs torch, float32 and float64."""

import numpy as np
import pytest
from _torchref import DTYPES, assert_like_torch, tensor

from convcore import reference as R

torch = pytest.importorskip("torch")
Fn = torch.nn.functional


def _inputs(dtype, shape=(3, 4, 5, 2), seed=0):
    """Normal values plus exact zeros and large magnitudes (the edge cases of each op)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    flat = x.reshape(-1)
    flat[:6] = [0.0, -0.0, 50.0, -50.0, 100.0, -100.0]
    return rng, x.astype(dtype)


# name -> (reference forward, reference backward, torch forward, backward takes output?)
ACTIVATIONS = {
    "relu": (R.relu, R.relu_backward, torch.relu, False),
    "leaky_relu": (lambda x: R.leaky_relu(x, 0.2),
                   lambda g, x: R.leaky_relu_backward(g, x, 0.2),
                   lambda t: Fn.leaky_relu(t, 0.2), False),
    "leaky_relu_default": (R.leaky_relu, R.leaky_relu_backward, Fn.leaky_relu, False),
    "elu": (R.elu, R.elu_backward, Fn.elu, False),
    "elu_alpha": (lambda x: R.elu(x, 0.7), lambda g, x: R.elu_backward(g, x, 0.7),
                  lambda t: Fn.elu(t, 0.7), False),
    "sigmoid": (R.sigmoid, R.sigmoid_backward, torch.sigmoid, True),
    "tanh": (R.tanh, R.tanh_backward, torch.tanh, True),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_vs_torch(name, dtype):
    forward, backward, torch_forward, takes_output = ACTIVATIONS[name]
    rng, x = _inputs(dtype)
    y = forward(x)
    xt = tensor(torch, x, True)
    yt = torch_forward(xt)
    assert_like_torch(y, yt)
    assert np.isfinite(y).all()
    grad_y = rng.standard_normal(x.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(backward(grad_y, y if takes_output else x), xt.grad)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_any_shape_and_empty(name):
    forward, backward, _, takes_output = ACTIVATIONS[name]
    for shape in [(0, 3), (7,), (2, 3, 4)]:
        x = np.linspace(-2, 2, int(np.prod(shape))).reshape(shape).astype(np.float32)
        y = forward(x)
        assert y.shape == shape and y.dtype == np.float32
        assert backward(np.ones_like(x), y if takes_output else x).shape == shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, pieces", [((2, 6, 3, 3), 2), ((3, 6, 4, 5), 3), ((4, 8), 4),
                                           ((1, 5, 2, 2), 1)])
def test_maxout_vs_torch(shape, pieces, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)          # continuous: no ties
    xt = tensor(torch, x, True)
    n, c = shape[:2]
    yt = xt.reshape(n, c // pieces, pieces, *shape[2:]).amax(dim=2)
    y = R.maxout(x, pieces)
    assert_like_torch(y, yt)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(R.maxout_backward(grad_y, x, pieces), xt.grad)


def test_maxout_ties_first_piece_wins():
    x = np.zeros((1, 4, 1, 1))
    grad = R.maxout_backward(np.array([[[[1.0]], [[2.0]]]]), x, 2)
    np.testing.assert_array_equal(grad.ravel(), [1.0, 0.0, 2.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p, dtype):
    x = np.full((200, 500), 2.0, dtype)
    y, mask = R.dropout(x, p, rng=7)
    assert y.dtype == dtype and mask.dtype == np.bool_ and mask.shape == x.shape
    keep = mask.mean()
    sigma = np.sqrt(p * (1 - p) / x.size)
    assert abs(keep - (1 - p)) < 5 * sigma
    np.testing.assert_allclose(y[mask], 2.0 / (1 - p), rtol=1e-6)      # kept: scaled
    assert np.all(y[~mask] == 0)
    assert abs(y.astype(np.float64).mean() - 2.0) < 2.0 * 5 * sigma / (1 - p)   # E[y] = x
    grad_y = np.ones_like(x)
    grad_x = R.dropout_backward(grad_y, mask, p)
    np.testing.assert_allclose(grad_x, np.where(mask, 1 / (1 - p), 0).astype(dtype), rtol=1e-6)


def test_dropout_eval_and_p0_are_identity():
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    for y, mask in (R.dropout(x, 0.5, training=False), R.dropout(x, 0.0, rng=1)):
        np.testing.assert_array_equal(y, x)
        assert y is not x and not np.shares_memory(y, x)
        assert mask.all()


def test_dropout_rng_reproducible():
    x = np.ones((50, 40))
    y1, m1 = R.dropout(x, 0.5, rng=123)
    y2, m2 = R.dropout(x, 0.5, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    _, m3 = R.dropout(x, 0.5, rng=124)
    assert (m1 != m3).any()
    gen = np.random.default_rng(5)
    _, a = R.dropout(x, 0.5, rng=gen)
    _, b = R.dropout(x, 0.5, rng=gen)                     # the generator advances
    assert (a != b).any()
