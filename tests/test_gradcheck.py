"""Finite-difference gradient checks (float64) of every reference backward, via
convcore.testing.gradcheck, plus tests that gradcheck itself catches wrong gradients."""

import numpy as np
import pytest

from convcore import reference as R
from convcore.testing import gradcheck, numerical_gradient


def _rng(seed=0):
    return np.random.default_rng(seed)


def _away_from_zero(a, margin=0.05):
    """Move values out of [-margin, margin] so kinks (ReLU at 0) are not straddled by eps."""
    return np.where(np.abs(a) < margin, np.sign(a + 1e-12) * margin + a, a)


# --- Convolution and linear --------------------------------------------------------------------

CONV_CASES = [
    # (x shape, weight shape, hyper-parameters)
    ((2, 2, 5, 4), (3, 2, 3, 2), dict()),
    ((1, 4, 6, 5), (4, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    ((1, 3, 7, 6), (3, 1, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=3)),
    ((2, 2, 4, 4), (2, 2, 1, 1), dict(stride=3)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=["plain", "groups", "depthwise", "1x1s3"])
def test_conv2d_gradcheck(case):
    x_shape, w_shape, hyper = case
    rng = _rng()
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(
        w_shape[0])
    assert gradcheck(lambda x, w, b: R.conv2d(x, w, b, **hyper),
                     lambda gy, x, w, b: R.conv2d_backward(gy, x, w, **hyper),
                     [x, w, b])


def test_conv2d_fused_relu_gradcheck():
    rng = _rng(1)
    x, w, b = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), np.zeros(3)
    y = R.conv2d(x, w, b, padding=1)
    b = 0.0123 - np.median(y, axis=(0, 2, 3))             # about half the outputs negative
    y = R.conv2d(x, w, b, padding=1)
    assert np.abs(y).min() > 1e-4                         # no kink within eps

    def backward(gy, x, w, b):
        y = R.conv2d(x, w, b, padding=1, activation="relu")
        return R.conv2d_backward(np.where(y > 0, gy, 0.0), x, w, padding=1)

    assert gradcheck(lambda x, w, b: R.conv2d(x, w, b, padding=1, activation="relu"),
                     backward, [x, w, b])


def test_linear_gradcheck():
    rng = _rng(2)
    x, w, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    assert gradcheck(R.linear, lambda gy, x, w, b: R.linear_backward(gy, x, w), [x, w, b])


# --- Pooling ---------------------------------------------------------------------------------

POOL_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
              dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0))]


@pytest.mark.parametrize("hyper", POOL_CASES, ids=["k2", "k3s2p1", "nonsquare"])
@pytest.mark.parametrize("use_indices", [False, True])
def test_max_pool2d_gradcheck(hyper, use_indices):
    x = _rng(3).permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) * 0.1   # distinct: no ties

    def backward(gy, x):
        _, idx = R.max_pool2d(x, return_indices=True, **hyper)
        return R.max_pool2d_backward(gy, x, indices=idx if use_indices else None, **hyper)

    assert gradcheck(lambda x: R.max_pool2d(x, **hyper), backward, [x])


@pytest.mark.parametrize("hyper", POOL_CASES, ids=["k2", "k3s2p1", "nonsquare"])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_gradcheck(hyper, count_include_pad):
    x = _rng(4).standard_normal((2, 2, 6, 5))
    assert gradcheck(
        lambda x: R.avg_pool2d(x, count_include_pad=count_include_pad, **hyper),
        lambda gy, x: R.avg_pool2d_backward(gy, x.shape, count_include_pad=count_include_pad,
                                            **hyper),
        [x])


def test_global_avg_pool2d_gradcheck():
    x = _rng(5).standard_normal((2, 3, 4, 5))
    assert gradcheck(R.global_avg_pool2d,
                     lambda gy, x: R.global_avg_pool2d_backward(gy, x.shape), [x])


# --- Batch norm -------------------------------------------------------------------------------

@pytest.mark.parametrize("ndim", [4, 2])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(ndim, training):
    forward, backward = ((R.batch_norm2d, R.batch_norm2d_backward) if ndim == 4
                         else (R.batch_norm1d, R.batch_norm1d_backward))
    rng = _rng(6)
    shape = (3, 2, 3, 4) if ndim == 4 else (5, 3)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)

    def fn(x, gamma, beta):   # copies: gradcheck calls the forward many times
        return forward(x, gamma, beta, rm.copy(), rv.copy(), training=training)[0]

    def grads(gy, x, gamma, beta):
        _, mean, invstd = forward(x, gamma, beta, rm.copy(), rv.copy(), training=training)
        return backward(gy, x, gamma, mean, invstd, training=training)

    assert gradcheck(fn, grads, [x, gamma, beta])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm2d_fused_relu_gradcheck(training):
    rng = _rng(7)
    x = rng.standard_normal((2, 2, 3, 3))
    gamma, beta = rng.uniform(0.5, 1.5, 2), np.array([0.1, -0.2])
    rm, rv = np.zeros(2), np.ones(2)

    def fn(x, gamma, beta):
        return R.batch_norm2d(x, gamma, beta, rm.copy(), rv.copy(), training=training,
                              activation="relu")[0]

    def grads(gy, x, gamma, beta):
        y, mean, invstd = R.batch_norm2d(x, gamma, beta, rm.copy(), rv.copy(),
                                         training=training, activation="relu")
        return R.batch_norm2d_backward(gy, x, gamma, mean, invstd, training=training, y=y,
                                       activation="relu")

    assert np.abs(R.batch_norm2d(x, gamma, beta, rm.copy(), rv.copy(),
                                 training=training)[0]).min() > 1e-4     # no kink within eps
    assert gradcheck(fn, grads, [x, gamma, beta])


# --- Pointwise --------------------------------------------------------------------------------

POINTWISE = {
    "relu": (R.relu, R.relu_backward, False),
    "leaky_relu": (lambda x: R.leaky_relu(x, 0.1),
                   lambda g, x: R.leaky_relu_backward(g, x, 0.1), False),
    "elu": (lambda x: R.elu(x, 0.8), lambda g, x: R.elu_backward(g, x, 0.8), False),
    "sigmoid": (R.sigmoid, R.sigmoid_backward, True),
    "tanh": (R.tanh, R.tanh_backward, True),
    "softmax": (lambda x: R.softmax(x, axis=1), lambda g, y: R.softmax_backward(g, y, axis=1),
                True),
    "log_softmax": (lambda x: R.log_softmax(x, axis=0),
                    lambda g, y: R.log_softmax_backward(g, y, axis=0), True),
}


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_gradcheck(name):
    forward, backward, takes_output = POINTWISE[name]
    x = _away_from_zero(_rng(8).standard_normal((3, 4, 2)) * 2)
    assert gradcheck(forward,
                     lambda gy, x: backward(gy, forward(x) if takes_output else x), [x])


def test_maxout_gradcheck():
    x = _rng(9).permutation(2 * 6 * 2 * 2).reshape(2, 6, 2, 2) * 0.1
    assert gradcheck(lambda x: R.maxout(x, 3), lambda gy, x: R.maxout_backward(gy, x, 3), [x])


def test_dropout_gradcheck():
    x = _rng(10).standard_normal((4, 5))
    p = 0.4
    mask = R.dropout(x, p, rng=11)[1]
    assert not mask.all() and mask.any()
    assert gradcheck(lambda x: R.dropout(x, p, rng=11)[0],      # same seed: same mask
                     lambda gy, x: R.dropout_backward(gy, mask, p), [x])


def test_cross_entropy_gradcheck():
    rng = _rng(12)
    logits, target = rng.standard_normal((4, 5)) * 3, rng.integers(0, 5, 4)
    assert gradcheck(lambda z: R.cross_entropy(z, target),
                     lambda g, z: g * R.cross_entropy_backward(z, target), [logits])


def test_mse_loss_gradcheck():
    rng = _rng(13)
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert gradcheck(R.mse_loss, lambda g, a, b: g * R.mse_loss_backward(a, b), [pred, target],
                     wrt=[0])


# --- gradcheck itself ---------------------------------------------------------------------------

def test_gradcheck_catches_a_wrong_gradient():
    x = _rng(14).standard_normal((3, 4))
    with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
        gradcheck(R.tanh, lambda gy, x: gy * (1 - x * x), [x])    # uses x instead of y


def test_gradcheck_catches_a_wrong_shape_or_count():
    x = _rng(15).standard_normal((3, 4))
    with pytest.raises(AssertionError, match="shape"):
        gradcheck(R.relu, lambda gy, x: gy.T, [x])
    with pytest.raises(AssertionError, match="2 gradients"):
        gradcheck(R.relu, lambda gy, x: (gy, gy), [x])


def test_numerical_gradient_of_known_function_and_inputs_untouched():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    x_copy = x.copy()
    grad = numerical_gradient(lambda a: np.sum(a ** 3), [x], 0)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, x_copy)


def test_gradcheck_converts_float32_inputs_to_float64():
    x = _rng(16).standard_normal((2, 3)).astype(np.float32)
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return np.sin(x)

    assert gradcheck(fn, lambda gy, x: gy * np.cos(x), [x])
    assert set(seen) == {np.dtype(np.float64)}
