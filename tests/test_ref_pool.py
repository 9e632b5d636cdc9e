"""convcore.reference pooling vs torch: max (values, indices, ties), avg (count_include_pad
both ways), global avg; forward and backward, float32 and float64."""

import numpy as np
import pytest
from _torchref import DTYPES, assert_like_torch, tensor

from convcore import reference as R

torch = pytest.importorskip("torch")
Fn = torch.nn.functional

# (N, C, H, W, kernel_size, stride, padding)
POOL_CONFIGS = [
    (1, 1, 4, 4, 2, None, 0),             # stride defaults to kernel
    (2, 3, 7, 7, 3, 2, 1),                # overlapping windows + padding
    (2, 2, 9, 6, (3, 2), (2, 1), (1, 0)), # non-square everything
    (1, 4, 5, 8, 3, 1, 1),                # stride 1: heavy overlap
    (3, 2, 6, 6, 6, None, 0),             # window == image
    (2, 3, 11, 5, (2, 4), 3, (1, 2)),     # stride > kernel height, thin image
    (1, 2, 5, 5, 3, 3, 0),                # leftover rows/cols not covered
]
IDS = [str(i) for i in range(len(POOL_CONFIGS))]


def _case(config, dtype, seed=0):
    n, c, h, w, kernel, stride, padding = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    hyper = dict(kernel_size=kernel, stride=stride, padding=padding)
    return rng, x, hyper


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=IDS)
def test_max_pool2d_vs_torch(config, dtype):
    rng, x, hyper = _case(config, dtype)
    y, indices = R.max_pool2d(x, return_indices=True, **hyper)
    assert indices.dtype == np.int64
    xt = tensor(torch, x, True)
    yt, it = Fn.max_pool2d(xt, return_indices=True, **hyper)
    assert_like_torch(y, yt)
    np.testing.assert_array_equal(indices, it.numpy())
    np.testing.assert_array_equal(R.max_pool2d(x, **hyper), y)

    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(R.max_pool2d_backward(grad_y, x, indices=indices, **hyper), xt.grad)
    assert_like_torch(R.max_pool2d_backward(grad_y, x, **hyper), xt.grad)


@pytest.mark.parametrize("config", [POOL_CONFIGS[1], POOL_CONFIGS[3], POOL_CONFIGS[2]])
@pytest.mark.parametrize("values", ["constant", "few_levels"])
def test_max_pool2d_ties_pick_first_like_torch(config, values):
    rng, x, hyper = _case(config, np.float32)
    if values == "constant":
        x = np.full_like(x, 0.5)
    else:
        x = rng.integers(0, 3, size=x.shape).astype(np.float32)
    y, indices = R.max_pool2d(x, return_indices=True, **hyper)
    xt = tensor(torch, x, True)
    yt, it = Fn.max_pool2d(xt, return_indices=True, **hyper)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(indices, it.numpy())
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(R.max_pool2d_backward(grad_y, x, **hyper), xt.grad)


def test_max_pool2d_padding_is_minus_infinity():
    x = np.full((1, 1, 3, 3), -5.0)
    y, indices = R.max_pool2d(x, 2, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), -5.0))   # not 0 from the padding
    np.testing.assert_array_equal(indices[0, 0], [[0, 1], [3, 4]])


def test_max_pool2d_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                                   # the max of all four 2x2 windows
    grad = R.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    assert grad[0, 0, 1, 1] == 4.0 and grad.sum() == 4.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=IDS)
def test_avg_pool2d_vs_torch(config, count_include_pad, dtype):
    rng, x, hyper = _case(config, dtype, seed=1)
    y = R.avg_pool2d(x, count_include_pad=count_include_pad, **hyper)
    xt = tensor(torch, x, True)
    yt = Fn.avg_pool2d(xt, count_include_pad=count_include_pad, **hyper)
    assert_like_torch(y, yt)

    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    gx = R.avg_pool2d_backward(grad_y, x.shape, count_include_pad=count_include_pad, **hyper)
    assert_like_torch(gx, xt.grad)


def test_avg_pool2d_count_include_pad_differs_at_borders():
    x = np.ones((1, 1, 4, 4))
    with_pad = R.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True)
    without = R.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(without, 1.0)              # only real pixels are averaged
    assert with_pad[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert with_pad[0, 0, 1, 1] == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (4, 8, 6, 6)])
def test_global_avg_pool2d_vs_torch(shape, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    xt = tensor(torch, x, True)
    yt = Fn.adaptive_avg_pool2d(xt, 1)
    y = R.global_avg_pool2d(x)
    assert y.shape == (shape[0], shape[1], 1, 1)
    assert_like_torch(y, yt)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(R.global_avg_pool2d_backward(grad_y, x.shape), xt.grad)


def test_pools_empty_batch():
    x = np.zeros((0, 2, 6, 6), np.float32)
    assert R.max_pool2d(x, 2).shape == (0, 2, 3, 3)
    assert R.avg_pool2d(x, 3, 1, 1).shape == (0, 2, 6, 6)
    assert R.max_pool2d_backward(np.zeros((0, 2, 3, 3), np.float32), x, 2).shape == x.shape
