"""Compiled activations, dropout, maxout, softmax family, losses and linear (convcore.functional)
vs the NumPy reference and torch, every ISA, both dtypes."""

import numpy as np
import pytest

import convcore
from convcore import _kernels
from convcore import functional as F
from convcore import reference as R
from convcore.testing import gradcheck

DTYPES = [np.float32, np.float64]
SHAPES = [(2, 3, 5, 7), (1, 1), (7,), (3, 16), (2, 5, 33), ()]


def tol(dtype):
    return dict(rtol=1e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)


def sample(shape, dtype, rng, scale=4.0):
    """Values over a wide range, with exact zeros, tiny values and both signs."""
    x = scale * rng.standard_normal(shape)
    if x.size > 4:
        flat = x.reshape(-1)
        flat[:4] = [0.0, -1e-6, 1e-6, -60.0]
    return np.asarray(x, dtype)


ACTIVATIONS = [
    ("relu", {}, "x"),
    ("leaky_relu", {"negative_slope": 0.1}, "x"),
    ("elu", {"alpha": 1.3}, "x"),
    ("sigmoid", {}, "y"),
    ("tanh", {}, "y"),
]


@pytest.mark.parametrize("name, kwargs, saved", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_matches_reference(isa, name, kwargs, saved, shape, dtype, rng):
    x = sample(shape, dtype, rng)
    x_before = x.copy()
    y = getattr(F, name)(x, **kwargs)
    y_ref = getattr(R, name)(x, **kwargs)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, y_ref, **tol(dtype))
    gy = np.asarray(rng.standard_normal(shape), dtype)
    arg = x if saved == "x" else y
    g = getattr(F, name + "_backward")(gy, arg, **kwargs)
    np.testing.assert_allclose(g, getattr(R, name + "_backward")(gy, arg, **kwargs), **tol(dtype))
    np.testing.assert_array_equal(x, x_before)


def test_fast_expf_accuracy(isa):
    # every float32 exponential goes through the vectorised expf: sweep its whole range
    x = np.linspace(-87, 0, 200_001).astype(np.float32)
    got = F.sigmoid(x)   # x <= 0: sigmoid = e / (1 + e), e = exp(x)
    want = (np.exp(x.astype(np.float64)) / (1 + np.exp(x.astype(np.float64))))
    np.testing.assert_allclose(got, want, rtol=3e-7, atol=0)
    t = np.linspace(-12, 12, 100_001).astype(np.float32)
    np.testing.assert_allclose(F.tanh(t), np.tanh(t.astype(np.float64)), rtol=3e-7, atol=1e-30)
    e = np.linspace(-30, 3, 100_001).astype(np.float32)
    np.testing.assert_allclose(F.elu(e), np.where(e > 0, e, np.expm1(e.astype(np.float64))),
                               rtol=3e-7, atol=1e-30)


def test_activation_special_values(isa):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 100.0, -100.0], np.float32)
    with np.errstate(all="ignore"):
        for name in ("relu", "leaky_relu", "elu", "sigmoid", "tanh"):
            np.testing.assert_allclose(getattr(F, name)(x), getattr(R, name)(x), atol=1e-30,
                                       equal_nan=True)


@pytest.mark.parametrize("name, kwargs, saved", ACTIVATIONS)
def test_activation_matches_torch(name, kwargs, saved, rng):
    torch = pytest.importorskip("torch")
    tf = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
          "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.1),
          "elu": lambda t: torch.nn.functional.elu(t, 1.3)}[name]
    x = sample((4, 6, 9), np.float64, rng)
    gy = rng.standard_normal(x.shape)
    xt = torch.from_numpy(x).requires_grad_()
    yt = tf(xt)
    yt.backward(torch.from_numpy(gy))
    y = getattr(F, name)(x, **kwargs)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-13, atol=1e-15)
    g = getattr(F, name + "_backward")(gy, x if saved == "x" else y, **kwargs)
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape, pieces", [((2, 6, 5, 3), 3), ((3, 4), 2), ((1, 5, 7), 5),
                                           ((2, 4, 1, 1), 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_matches_reference(isa, shape, pieces, dtype, rng):
    x = rng.integers(-2, 3, shape).astype(dtype)   # many ties: the first piece wins
    y = F.maxout(x, pieces)
    np.testing.assert_array_equal(y, R.maxout(x, pieces))
    gy = np.asarray(rng.standard_normal(y.shape), dtype)
    np.testing.assert_array_equal(F.maxout_backward(gy, x, pieces),
                                  R.maxout_backward(gy, x, pieces))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_matches_reference(isa, dtype, rng):
    x = np.asarray(rng.standard_normal((4, 8, 9)), dtype)
    for p in (0.0, 0.3, 0.9):
        y, mask = F.dropout(x, p, rng=7)
        y_ref, mask_ref = R.dropout(x, p, rng=7)
        np.testing.assert_array_equal(mask, mask_ref)   # same generator stream
        np.testing.assert_allclose(y, y_ref, **tol(dtype))
        gy = np.asarray(rng.standard_normal(x.shape), dtype)
        np.testing.assert_allclose(F.dropout_backward(gy, mask, p),
                                   R.dropout_backward(gy, mask, p), **tol(dtype))
    y, mask = F.dropout(x, 0.5, training=False)
    np.testing.assert_array_equal(y, x)
    assert mask.all()
    big = np.ones(200_000, dtype)
    y, mask = F.dropout(big, 0.25, rng=np.random.default_rng(3))
    assert abs(mask.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[mask], 1 / 0.75, rtol=1e-7)
    assert (y[~mask] == 0).all()


AXES = [((4, 10), -1), ((3, 5, 7), 1), ((2, 3, 4, 5), 0), ((6, 1), -1), ((3, 40), 1)]


@pytest.mark.parametrize("shape, axis", AXES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_matches_reference(isa, shape, axis, dtype, rng):
    x = np.asarray(5 * rng.standard_normal(shape), dtype)
    gy = np.asarray(rng.standard_normal(shape), dtype)
    for name in ("softmax", "log_softmax"):
        y = getattr(F, name)(x, axis)
        np.testing.assert_allclose(y, getattr(R, name)(x, axis), **tol(dtype))
        np.testing.assert_allclose(getattr(F, name + "_backward")(gy, y, axis),
                                   getattr(R, name + "_backward")(gy, y, axis), **tol(dtype))


def test_softmax_is_stable_for_huge_logits(isa):
    x = np.array([[1000.0, 1001.0, 999.0], [-1e4, -1e4, -1e4]], np.float32)
    assert np.isfinite(F.softmax(x)).all() and np.isfinite(F.log_softmax(x)).all()
    np.testing.assert_allclose(F.softmax(x), R.softmax(x), rtol=1e-6)
    target = np.array([0, 2])
    assert np.isclose(F.cross_entropy(x, target), R.cross_entropy(x, target), rtol=1e-6)


@pytest.mark.parametrize("n, c", [(1, 2), (5, 10), (64, 3), (7, 1000)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_match_reference(isa, n, c, dtype, rng):
    logits = np.asarray(3 * rng.standard_normal((n, c)), dtype)
    target = rng.integers(0, c, n)
    loss = F.cross_entropy(logits, target)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, R.cross_entropy(logits, target), **tol(dtype))
    np.testing.assert_allclose(F.cross_entropy_backward(logits, target),
                               R.cross_entropy_backward(logits, target), **tol(dtype))
    np.testing.assert_allclose(F.cross_entropy(logits, target.astype(np.int32)), loss)
    pred = np.asarray(rng.standard_normal((n, c)), dtype)
    mse = F.mse_loss(pred, logits)
    assert isinstance(mse, float)
    np.testing.assert_allclose(mse, R.mse_loss(pred, logits), **tol(dtype))
    np.testing.assert_allclose(F.mse_loss_backward(pred, logits),
                               R.mse_loss_backward(pred, logits), **tol(dtype))


def test_losses_match_torch(rng):
    torch = pytest.importorskip("torch")
    logits = rng.standard_normal((9, 7))
    target = rng.integers(0, 7, 9)
    lt = torch.from_numpy(logits).requires_grad_()
    loss = torch.nn.functional.cross_entropy(lt, torch.from_numpy(target))
    loss.backward()
    np.testing.assert_allclose(F.cross_entropy(logits, target), loss.item(), rtol=1e-13)
    np.testing.assert_allclose(F.cross_entropy_backward(logits, target), lt.grad.numpy(),
                               rtol=1e-12, atol=1e-15)
    x = rng.standard_normal((3, 5, 4))
    np.testing.assert_allclose(F.log_softmax(x, 1),
                               torch.log_softmax(torch.from_numpy(x), 1).numpy(), rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_matches_reference(dtype, rng):
    x = np.asarray(rng.standard_normal((5, 7)), dtype)
    w = np.asarray(rng.standard_normal((3, 7)), dtype)
    b = np.asarray(rng.standard_normal(3), dtype)
    t = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else tol(dtype)
    for bias in (b, None):
        y = F.linear(x, w, bias)
        assert y.dtype == dtype
        np.testing.assert_allclose(y, R.linear(x, w, bias), **t)
    gy = np.asarray(rng.standard_normal((5, 3)), dtype)
    for got, want in zip(F.linear_backward(gy, x, w), R.linear_backward(gy, x, w)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **t)


def test_pointwise_gradchecks(rng):
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 0.05] = 0.3   # keep away from the kinks
    for name, kwargs, saved in ACTIVATIONS:
        fwd = getattr(F, name)
        bwd = getattr(F, name + "_backward")
        if saved == "x":
            assert gradcheck(lambda x, f=fwd, k=kwargs: f(x, **k),
                             lambda g, x, b=bwd, k=kwargs: b(g, x, **k), [x])
        else:
            assert gradcheck(lambda x, f=fwd: f(x), lambda g, x, f=fwd, b=bwd: b(g, f(x)), [x])
    assert gradcheck(lambda x: F.maxout(x, 2), lambda g, x: F.maxout_backward(g, x, 2),
                     [rng.standard_normal((2, 4, 3))])
    for name in ("softmax", "log_softmax"):
        fwd, bwd = getattr(F, name), getattr(F, name + "_backward")
        assert gradcheck(lambda x, f=fwd: f(x, 0), lambda g, x, f=fwd, b=bwd: b(g, f(x, 0), 0),
                         [x])
    target = np.array([0, 3, 2])
    assert gradcheck(lambda z: F.cross_entropy(z, target),
                     lambda g, z: g * F.cross_entropy_backward(z, target), [x])
    t = rng.standard_normal((3, 4))
    assert gradcheck(lambda p: F.mse_loss(p, t), lambda g, p: g * F.mse_loss_backward(p, t), [x])
    w, b = rng.standard_normal((2, 4)), rng.standard_normal(2)
    assert gradcheck(F.linear, lambda g, x, w, b: F.linear_backward(g, x, w), [x, w, b])


def test_pointwise_threads_bit_identical(rng):
    x = rng.standard_normal((8, 64, 33, 17)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    logits = rng.standard_normal((3000, 40)).astype(np.float32)
    target = rng.integers(0, 40, 3000)
    results = []
    for n in (1, 2):
        convcore.set_num_threads(n)
        y = F.tanh(x)
        results.append([y, F.tanh_backward(gy, y), F.elu(x), F.sigmoid(x), F.maxout(x, 4),
                        F.softmax(logits), F.cross_entropy_backward(logits, target),
                        np.float64(F.cross_entropy(logits, target)), np.float64(F.mse_loss(x, gy))])
    convcore.set_num_threads(None)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_isas_agree_on_float32(rng):
    """The ISA variants compile the same source: allow only last-bit differences."""
    x = sample((4, 5, 6, 7), np.float32, rng)
    outs = {}
    previous = _kernels.isa()
    for name in _kernels.available_isas():
        _kernels.set_isa(name)
        outs[name] = [F.sigmoid(x), F.tanh(x), F.elu(x), F.relu(x)]
    _kernels.set_isa(previous)
    for name, got in outs.items():
        for a, b in zip(got, outs["scalar"]):
            np.testing.assert_allclose(a, b, rtol=5e-7, atol=1e-30, err_msg=name)


def test_non_contiguous_and_read_only_inputs(rng):
    base = rng.standard_normal((6, 8, 10)).astype(np.float32)
    for x in (base[:, ::2, 1::3], np.asfortranarray(base), base.T):
        np.testing.assert_allclose(F.tanh(x), R.tanh(x), **tol(np.float32))
        np.testing.assert_allclose(F.softmax(x, 1), R.softmax(x, 1), **tol(np.float32))
        np.testing.assert_array_equal(F.maxout(x, 2), R.maxout(x, 2))
    ro = base.copy()
    ro.flags.writeable = False
    np.testing.assert_allclose(F.elu_backward(ro, ro), R.elu_backward(ro, ro), **tol(np.float32))


def test_empty_inputs():
    x = np.zeros((0, 4, 3), np.float32)
    for name in ("relu", "sigmoid", "tanh", "elu", "leaky_relu"):
        assert getattr(F, name)(x).shape == x.shape
    assert F.relu_backward(x, x).shape == x.shape
    assert F.maxout(x, 2).shape == (0, 2, 3)
    assert F.softmax(x).shape == x.shape
    assert F.linear(np.zeros((0, 3)), np.zeros((2, 3))).shape == (0, 2)


def same_error(fn_a, fn_b, *args, **kwargs):
    with pytest.raises((TypeError, ValueError)) as a:
        fn_a(*args, **kwargs)
    with pytest.raises(a.type) as b:
        fn_b(*args, **kwargs)
    assert str(a.value) == str(b.value)


def test_bad_arguments_as_reference():
    x = np.zeros((2, 4), np.float32)
    for name in ("relu", "sigmoid", "tanh", "elu", "leaky_relu", "softmax"):
        same_error(getattr(F, name), getattr(R, name), x.astype(np.int64))
        same_error(getattr(F, name), getattr(R, name), [1.0, 2.0])
    same_error(F.relu_backward, R.relu_backward, x[:1], x)
    same_error(F.sigmoid_backward, R.sigmoid_backward, x.astype(np.float64), x)
    same_error(F.leaky_relu, R.leaky_relu, x, "a")
    same_error(F.maxout, R.maxout, x, 3)
    same_error(F.maxout, R.maxout, x[0], 2)
    same_error(F.dropout, R.dropout, x, 1.0)
    same_error(F.dropout, R.dropout, x, 0.5, rng="seed")
    same_error(F.dropout_backward, R.dropout_backward, x, x, 0.5)
    same_error(F.softmax, R.softmax, x, 2)
    same_error(F.cross_entropy, R.cross_entropy, x, np.array([0, 4]))
    same_error(F.cross_entropy, R.cross_entropy, x, np.array([0.0, 1.0]))
    same_error(F.cross_entropy, R.cross_entropy, x[:0], np.zeros(0, np.int64))
    same_error(F.mse_loss, R.mse_loss, x, x[:1])
    same_error(F.mse_loss, R.mse_loss, x[:0], x[:0])
    same_error(F.linear, R.linear, x, np.zeros((3, 5), np.float32))
    same_error(F.linear_backward, R.linear_backward, x[:1], x, np.zeros((3, 4), np.float32))


# --- Garbage in: only TypeError / ValueError out, never a crash (every compiled op) ----------

f32 = np.float32
GARBAGE = [None, 0, -1, 2, 2.5, True, (1,), (1, 2), (0, 1), "a", [1, 2], np.int64(2),
           float("nan"), np.ones(3), np.ones((2, 3)), np.ones((1, 2, 4, 4)),
           np.ones((1, 2, 4, 4), f32), np.ones((0, 2, 4, 4)), np.ones((2, 2, 1, 1)),
           np.ones(2, np.int64), np.ones((1, 1, 0, 4)), np.ones(2), np.ones((1, 2, 2, 2), f32),
           np.zeros((1, 2, 2, 2), np.uint8), np.ones((1, 2, 4, 4), f32)[:, :, ::2]]
COMPILED_OPS = [*F.__all__, "max_pool2d_with_argmax", "max_pool2d_backward_argmax"]


@pytest.mark.parametrize("name", [n for n in COMPILED_OPS if "conv" not in n])
def test_garbage_arguments_raise_only_type_or_value_errors(name):
    import inspect
    import warnings
    import zlib

    op = getattr(F, name)
    required = sum(p.default is p.empty for p in inspect.signature(op).parameters.values())
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(150):
            picks = rng.integers(0, len(GARBAGE), required + rng.integers(0, 3))
            try:
                op(*[GARBAGE[i] for i in picks])
            except (TypeError, ValueError):
                pass
