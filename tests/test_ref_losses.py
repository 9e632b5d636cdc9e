"""convcore.reference softmax, log_softmax, cross_entropy, mse_loss vs torch."""

import numpy as np
import pytest
from _torchref import DTYPES, assert_like_torch, tensor

from convcore import reference as R

torch = pytest.importorskip("torch")
Fn = torch.nn.functional


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axis", [((4, 10), -1), ((4, 10), 0), ((2, 3, 5), 1),
                                         ((1, 1), -1), ((3, 7), 1)])
@pytest.mark.parametrize("scale", [1.0, 1000.0])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_family_vs_torch(op, scale, shape, axis, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    forward, backward = getattr(R, op), getattr(R, op + "_backward")
    y = forward(x, axis=axis)
    assert np.isfinite(y).all()
    xt = tensor(torch, x, True)
    yt = getattr(torch, op)(xt, dim=axis)
    assert_like_torch(y, yt)
    grad_y = rng.standard_normal(shape).astype(dtype)
    yt.backward(tensor(torch, grad_y))
    assert_like_torch(backward(grad_y, y, axis=axis), xt.grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, c, scale", [(1, 2, 1.0), (8, 10, 1.0), (5, 3, 1e3), (16, 7, 50.0)])
def test_cross_entropy_vs_torch(n, c, scale, dtype):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((n, c)) * scale).astype(dtype)
    target = rng.integers(0, c, n)
    loss = R.cross_entropy(logits, target)
    assert isinstance(loss, float) and np.isfinite(loss)
    lt = tensor(torch, logits, True)
    loss_t = Fn.cross_entropy(lt, torch.tensor(target))
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert loss == pytest.approx(loss_t.item(), rel=rtol, abs=rtol)
    loss_t.backward()
    grad = R.cross_entropy_backward(logits, target)
    assert_like_torch(grad, lt.grad)


@pytest.mark.parametrize("target_dtype", [np.int32, np.int64, np.uint8])
def test_cross_entropy_accepts_integer_targets(target_dtype):
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    loss = R.cross_entropy(logits, np.array([2, 0], dtype=target_dtype))
    expected = (-np.log(np.exp(3) / np.exp([1, 2, 3]).sum()) + np.log(3)) / 2
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 4, 5)])
def test_mse_loss_vs_torch(shape, dtype):
    rng = np.random.default_rng(2)
    pred, target = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    pt = tensor(torch, pred, True)
    loss_t = Fn.mse_loss(pt, tensor(torch, target))
    loss = R.mse_loss(pred, target)
    assert isinstance(loss, float)
    assert loss == pytest.approx(loss_t.item(), rel=1e-10 if dtype == np.float64 else 1e-5)
    loss_t.backward()
    assert_like_torch(R.mse_loss_backward(pred, target), pt.grad)
