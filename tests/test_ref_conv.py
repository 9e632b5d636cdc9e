"""convcore.reference conv2d and linear vs torch, forward and backward, float32 and float64."""

import numpy as np
import pytest
from _torchref import DTYPES, assert_like_torch, tensor

from convcore import reference as R

torch = pytest.importorskip("torch")
Fn = torch.nn.functional

# (N, C, H, W, K, R, S, stride, padding, dilation, groups, bias)
CONV_CONFIGS = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1, 1, True),                 # smallest, N=1
    (2, 3, 7, 6, 4, 3, 2, (2, 1), (1, 2), (1, 2), 1, True),  # non-square everything
    (2, 4, 9, 9, 6, 3, 3, 2, 1, 1, 2, True),                 # groups
    (1, 6, 8, 7, 6, 3, 3, 1, 1, 1, 6, True),                 # depthwise
    (2, 4, 6, 6, 8, 3, 3, 1, 1, 1, 4, False),                # depthwise, multiplier 2
    (3, 3, 11, 13, 5, 5, 3, 3, 2, 2, 1, True),               # stride + dilation
    (2, 8, 5, 5, 4, 1, 1, 1, 0, 1, 1, True),                 # 1x1
    (1, 2, 4, 4, 3, 4, 4, 1, 0, 1, 1, False),                # kernel == input
    (2, 3, 10, 3, 2, 1, 3, (1, 2), (0, 1), 1, 1, True),      # 1x3 kernel, thin image
    (2, 2, 9, 9, 3, 2, 2, 3, 0, 1, 1, True),                 # stride > kernel (skips pixels)
    (2, 6, 7, 5, 6, 3, 3, 2, 1, (2, 1), 3, True),            # groups + dilation + stride
    (1, 2, 3, 3, 2, 2, 2, 1, 3, 1, 1, True),                 # padding > kernel
    (2, 5, 12, 10, 7, 3, 3, 2, 1, 1, 1, True),               # odd channel counts
]


def _conv_case(config, dtype, seed=0):
    n, c, h, w, k, r, s, stride, padding, dilation, groups, has_bias = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((k, c // groups, r, s)).astype(dtype)
    bias = rng.standard_normal(k).astype(dtype) if has_bias else None
    hyper = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return rng, x, weight, bias, hyper


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=[str(i) for i in range(len(CONV_CONFIGS))])
def test_conv2d_forward_backward_vs_torch(config, dtype):
    rng, x, weight, bias, hyper = _conv_case(config, dtype)
    y = R.conv2d(x, weight, bias, **hyper)

    xt, wt = tensor(torch, x, True), tensor(torch, weight, True)
    bt = tensor(torch, bias, True) if bias is not None else None
    yt = Fn.conv2d(xt, wt, bt, **hyper)
    assert_like_torch(y, yt)

    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx, gw, gb = R.conv2d_backward(grad_y, x, weight, **hyper)
    assert_like_torch(gx, xt.grad)
    assert_like_torch(gw, wt.grad)
    assert_like_torch(gb, bt.grad if bias is not None else tensor(torch, grad_y).sum((0, 2, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_fused_relu_vs_torch(dtype):
    rng, x, weight, bias, hyper = _conv_case(CONV_CONFIGS[2], dtype, seed=3)
    y = R.conv2d(x, weight, bias, activation="relu", **hyper)
    xt, wt, bt = (tensor(torch, a, True) for a in (x, weight, bias))
    yt = torch.relu(Fn.conv2d(xt, wt, bt, **hyper))
    assert_like_torch(y, yt)
    assert (y == 0).any() and (y > 0).any()

    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    # The documented protocol for a fused ReLU: mask grad_y with (y > 0) first.
    gx, gw, gb = R.conv2d_backward(np.where(y > 0, grad_y, 0).astype(dtype), x, weight, **hyper)
    assert_like_torch(gx, xt.grad)
    assert_like_torch(gw, wt.grad)
    assert_like_torch(gb, bt.grad)


@pytest.mark.parametrize("needs", [("x",), ("weight",), ("bias",), ("x", "bias"), ()])
def test_conv2d_backward_needs_selects_gradients(needs):
    rng, x, weight, _, hyper = _conv_case(CONV_CONFIGS[10], np.float64)
    grad_y = rng.standard_normal(R.conv2d(x, weight, **hyper).shape)
    full = R.conv2d_backward(grad_y, x, weight, **hyper)
    part = R.conv2d_backward(grad_y, x, weight, needs=needs, **hyper)
    for name, got, expected in zip(("x", "weight", "bias"), part, full):
        if name in needs:
            np.testing.assert_array_equal(got, expected)
        else:
            assert got is None


def test_conv2d_non_contiguous_inputs():
    rng, x, weight, bias, hyper = _conv_case(CONV_CONFIGS[1], np.float64)
    x_view = np.asfortranarray(x)[:, :, ::-1]               # non-contiguous, negative strides
    w_view = np.ascontiguousarray(weight.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    expected = Fn.conv2d(torch.tensor(x_view.copy()), torch.tensor(weight),
                         torch.tensor(bias), **hyper)
    assert_like_torch(R.conv2d(x_view, w_view, bias, **hyper), expected)


def test_conv2d_empty_batch():
    x = np.zeros((0, 3, 5, 5), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    y = R.conv2d(x, w, padding=1)
    assert y.shape == (0, 4, 5, 5) and y.dtype == np.float32
    gx, gw, gb = R.conv2d_backward(y, x, w, padding=1)
    assert gx.shape == x.shape and np.all(gw == 0) and np.all(gb == 0)


@pytest.mark.parametrize("n, k, s, p, d", [(7, 3, 1, 0, 1), (7, 3, 2, 1, 1), (10, 3, 3, 2, 2),
                                           (1, 1, 1, 0, 1), (5, 5, 2, 0, 1), (224, 7, 2, 3, 1)])
def test_conv_output_size_matches_torch(n, k, s, p, d):
    y = Fn.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1),
                  padding=(p, 0), dilation=(d, 1))
    assert R.conv_output_size(n, k, s, p, d) == y.shape[2]


# (N, in_features, out_features, bias)
LINEAR_CONFIGS = [(1, 1, 1, True), (4, 7, 3, True), (5, 16, 10, False), (3, 33, 17, True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", LINEAR_CONFIGS)
def test_linear_forward_backward_vs_torch(config, dtype):
    n, fin, fout, has_bias = config
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, fin)).astype(dtype)
    weight = rng.standard_normal((fout, fin)).astype(dtype)
    bias = rng.standard_normal(fout).astype(dtype) if has_bias else None
    xt, wt = tensor(torch, x, True), tensor(torch, weight, True)
    bt = tensor(torch, bias, True) if has_bias else None
    yt = Fn.linear(xt, wt, bt)
    assert_like_torch(R.linear(x, weight, bias), yt)

    grad_y = rng.standard_normal((n, fout)).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx, gw, gb = R.linear_backward(grad_y, x, weight)
    assert_like_torch(gx, xt.grad)
    assert_like_torch(gw, wt.grad)
    assert_like_torch(gb, tensor(torch, grad_y).sum(0))


def test_linear_empty_batch():
    y = R.linear(np.zeros((0, 4)), np.ones((3, 4)), np.ones(3))
    assert y.shape == (0, 3)
