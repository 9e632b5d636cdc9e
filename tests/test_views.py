"""Every op and backward of convcore.functional accepts array views (non-contiguous, negative
strides, Fortran order, read-only, unaligned, zero-stride broadcasts) and gives the result it
gives for a contiguous copy; no input is ever modified (checked by hashing the memory that
backs each argument); no output shares memory with an input.

Batch norm's running statistics are the one documented exception: updated in place in
training mode, including when they are views (the update must land in the caller's array).
"""

from __future__ import annotations

import hashlib
from typing import Callable, NamedTuple

import numpy as np
import pytest

from convcore import functional as F

VARIANTS = ["strided", "reversed", "fortran", "readonly", "unaligned", "broadcast"]


def make_view(a: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(view, owner): a view of kind ``kind`` holding the values of ``a``, and an ndarray over
    all the memory behind it (hashed before and after the call)."""
    if kind == "strided":             # every other element along every axis
        owner = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
        view = owner[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
    elif kind == "reversed":          # negative strides on every axis
        owner = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
        view = owner[tuple(slice(None, None, -1) for _ in a.shape)]
    elif kind == "fortran":
        owner = view = np.asfortranarray(a)
        if a.ndim >= 2 and min(a.shape) > 1:
            assert not view.flags.c_contiguous
    elif kind == "readonly":
        owner = view = a.copy()
        view.flags.writeable = False
    elif kind == "unaligned":         # data pointer one byte past an aligned address
        raw = np.zeros(a.nbytes + 64 + 1, np.uint8)
        start = (-raw.ctypes.data) % 64 + 1 if a.nbytes else 0
        view = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
        view[...] = a
        owner = raw
        if a.itemsize > 1 and a.size:
            assert not view.flags.aligned
    elif kind == "broadcast":         # zero strides: one value per row, broadcast along it
        if a.ndim == 0 or a.size == 0:
            return make_view(a, "readonly")
        owner = np.ascontiguousarray(a[..., :1])
        view = np.broadcast_to(owner, a.shape)
    else:
        raise AssertionError(kind)
    return view, owner


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).tobytes()).hexdigest()


class Op(NamedTuple):
    name: str
    call: Callable                    # (*arrays) -> result (array, tuple of arrays or float)
    arrays: Callable                  # (rng, dtype) -> list of array arguments


def _r(rng, shape, dtype, low=None):
    a = rng.standard_normal(shape)
    if low is not None:               # positive values (standard deviations, probabilities)
        a = low + np.abs(a)
    return a.astype(dtype)


def _gy(shape):
    return lambda rng, dt: _r(rng, shape, dt)


X = (2, 4, 7, 6)
CONV = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
POOL = dict(kernel_size=3, stride=2, padding=1)

OPS: list[Op] = [
    Op("conv2d", lambda x, w, b: F.conv2d(x, w, b, **CONV),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, (6, 2, 3, 3), dt), _r(rng, 6, dt)]),
    Op("conv2d relu", lambda x, w, b: F.conv2d(x, w, b, activation="relu", padding=1),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, (5, 4, 3, 2), dt), _r(rng, 5, dt)]),
    Op("conv2d 1x1", lambda x, w: F.conv2d(x, w),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, (3, 4, 1, 1), dt)]),
    Op("conv2d_backward", lambda gy, x, w: F.conv2d_backward(gy, x, w, **CONV),
       lambda rng, dt: [_r(rng, (2, 6, 4, 6), dt), _r(rng, X, dt), _r(rng, (6, 2, 3, 3), dt)]),
    Op("conv2d_backward stride 1", lambda gy, x, w: F.conv2d_backward(gy, x, w, padding=1),
       lambda rng, dt: [_r(rng, (2, 5, 7, 6), dt), _r(rng, X, dt), _r(rng, (5, 4, 3, 3), dt)]),
    Op("linear", lambda x, w, b: F.linear(x, w, b),
       lambda rng, dt: [_r(rng, (3, 5), dt), _r(rng, (4, 5), dt), _r(rng, 4, dt)]),
    Op("linear_backward", lambda gy, x, w: F.linear_backward(gy, x, w),
       lambda rng, dt: [_r(rng, (3, 4), dt), _r(rng, (3, 5), dt), _r(rng, (4, 5), dt)]),
    Op("max_pool2d", lambda x: F.max_pool2d(x, **POOL, return_indices=True),
       lambda rng, dt: [_r(rng, X, dt)]),
    Op("max_pool2d_backward", lambda gy, x: F.max_pool2d_backward(gy, x, **POOL),
       lambda rng, dt: [_r(rng, (2, 4, 4, 3), dt), _r(rng, X, dt)]),
    Op("max_pool2d_backward indices",
       lambda gy, x, idx: F.max_pool2d_backward(gy, x, **POOL, indices=idx),
       lambda rng, dt: [_r(rng, (2, 4, 4, 3), dt), _r(rng, X, dt),
                        rng.integers(0, 42, (2, 4, 4, 3))]),
    Op("max_pool2d_with_argmax", lambda x: F.max_pool2d_with_argmax(x, **POOL),
       lambda rng, dt: [_r(rng, X, dt)]),
    Op("max_pool2d_backward_argmax",
       lambda gy, a: F.max_pool2d_backward_argmax(gy, a, X, **POOL),
       lambda rng, dt: [_r(rng, (2, 4, 4, 3), dt),
                        rng.integers(0, 9, (2, 4, 4, 3)).astype(np.uint8)]),
    Op("avg_pool2d", lambda x: F.avg_pool2d(x, **POOL, count_include_pad=False),
       lambda rng, dt: [_r(rng, X, dt)]),
    Op("avg_pool2d_backward", lambda gy: F.avg_pool2d_backward(gy, X, **POOL),
       lambda rng, dt: [_r(rng, (2, 4, 4, 3), dt)]),
    Op("global_avg_pool2d", F.global_avg_pool2d, lambda rng, dt: [_r(rng, X, dt)]),
    Op("global_avg_pool2d_backward", lambda gy: F.global_avg_pool2d_backward(gy, X),
       lambda rng, dt: [_r(rng, (2, 4, 1, 1), dt)]),
    Op("batch_norm2d training", lambda x, g, b: F.batch_norm2d(x, g, b),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, 4, dt), _r(rng, 4, dt)]),
    Op("batch_norm2d eval relu", lambda x, g, b, m, v: F.batch_norm2d(
        x, g, b, m, v, training=False, activation="relu"),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, 4, dt), _r(rng, 4, dt), _r(rng, 4, dt),
                        _r(rng, 4, dt, low=0.5)]),
    Op("batch_norm2d_backward", lambda gy, x, g, m, s: F.batch_norm2d_backward(gy, x, g, m, s),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt), _r(rng, 4, dt), _r(rng, 4, dt),
                        _r(rng, 4, dt, low=0.5)]),
    Op("batch_norm2d_backward eval relu", lambda gy, x, g, m, s, y: F.batch_norm2d_backward(
        gy, x, g, m, s, training=False, y=y, activation="relu"),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt), _r(rng, 4, dt), _r(rng, 4, dt),
                        _r(rng, 4, dt, low=0.5), _r(rng, X, dt)]),
    Op("batch_norm1d", lambda x, g, b: F.batch_norm1d(x, g, b),
       lambda rng, dt: [_r(rng, (5, 3), dt), _r(rng, 3, dt), _r(rng, 3, dt)]),
    Op("batch_norm1d_backward", lambda gy, x, g, m, s: F.batch_norm1d_backward(gy, x, g, m, s),
       lambda rng, dt: [_r(rng, (5, 3), dt), _r(rng, (5, 3), dt), _r(rng, 3, dt),
                        _r(rng, 3, dt), _r(rng, 3, dt, low=0.5)]),
    *[Op(name, getattr(F, name), lambda rng, dt: [_r(rng, X, dt)])
      for name in ("relu", "leaky_relu", "elu", "sigmoid", "tanh")],
    *[Op(name, getattr(F, name), lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt)])
      for name in ("relu_backward", "leaky_relu_backward", "elu_backward")],
    *[Op(name, getattr(F, name), lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt, low=0.0) % 1])
      for name in ("sigmoid_backward", "tanh_backward")],
    Op("maxout", lambda x: F.maxout(x, 2), lambda rng, dt: [_r(rng, X, dt)]),
    Op("maxout_backward", lambda gy, x: F.maxout_backward(gy, x, 2),
       lambda rng, dt: [_r(rng, (2, 2, 7, 6), dt), _r(rng, X, dt)]),
    Op("dropout", lambda x: F.dropout(x, 0.3, rng=7), lambda rng, dt: [_r(rng, X, dt)]),
    Op("dropout eval", lambda x: F.dropout(x, 0.3, training=False),
       lambda rng, dt: [_r(rng, X, dt)]),
    Op("dropout_backward", lambda gy, mask: F.dropout_backward(gy, mask, 0.3),
       lambda rng, dt: [_r(rng, X, dt), rng.random(X) > 0.3]),
    *[Op(f"{name} axis {axis}", lambda x, name=name, axis=axis: getattr(F, name)(x, axis=axis),
         lambda rng, dt: [_r(rng, (3, 5, 4), dt)])
      for name in ("softmax", "log_softmax") for axis in (1, -1)],
    Op("softmax_backward", lambda gy, y: F.softmax_backward(gy, y, axis=1),
       lambda rng, dt: [_r(rng, (3, 5, 4), dt), _r(rng, (3, 5, 4), dt, low=0.0) % 1]),
    Op("log_softmax_backward", lambda gy, y: F.log_softmax_backward(gy, y),
       lambda rng, dt: [_r(rng, (3, 5), dt), -_r(rng, (3, 5), dt, low=0.1)]),
    Op("cross_entropy", lambda z, t: np.array(F.cross_entropy(z, t)),
       lambda rng, dt: [_r(rng, (6, 5), dt), rng.integers(0, 5, 6)]),
    Op("cross_entropy_backward", F.cross_entropy_backward,
       lambda rng, dt: [_r(rng, (6, 5), dt), rng.integers(0, 5, 6).astype(np.int32)]),
    Op("mse_loss", lambda a, b: np.array(F.mse_loss(a, b)),
       lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt)]),
    Op("mse_loss_backward", F.mse_loss_backward,
       lambda rng, dt: [_r(rng, X, dt), _r(rng, X, dt)]),
]


def _as_tuple(result) -> tuple:
    return result if isinstance(result, tuple) else (result,)


def _assert_same(got, want, dtype) -> None:
    got, want = _as_tuple(got), _as_tuple(want)
    assert len(got) == len(want)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        assert g.shape == w.shape and g.dtype == w.dtype
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            scale = max(1.0, float(np.abs(w).max())) if w.size else 1.0
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale)


def _params():
    for op in OPS:
        for kind in VARIANTS:
            yield pytest.param(op, kind, id=f"{op.name}-{kind}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, kind", list(_params()))
def test_view_gives_the_contiguous_result_and_is_not_modified(op, kind, dtype):
    rng = np.random.default_rng(abs(hash((op.name, kind))) % 2**32)
    views, owners = zip(*(make_view(a, kind) for a in op.arrays(rng, dtype)))
    copies = [np.ascontiguousarray(v).copy() for v in views]
    before = [digest(o) for o in owners]

    got = op.call(*views)

    assert [digest(o) for o in owners] == before, f"{op.name} modified a {kind} input"
    for out in _as_tuple(got):
        for owner in owners:
            assert out is None or not np.shares_memory(out, owner), (
                f"{op.name} returned an array sharing memory with an input")
    _assert_same(got, op.call(*copies), dtype)


# --- batch norm running statistics: updated in place, views included --------------------------

@pytest.mark.parametrize("kind", ["strided", "reversed", "unaligned"])
@pytest.mark.parametrize("op, shape", [(F.batch_norm2d, X), (F.batch_norm1d, (5, 4))])
def test_running_stats_views_are_updated_in_place(op, shape, kind):
    rng = np.random.default_rng(5)
    x, gamma, beta = _r(rng, shape, np.float32), _r(rng, 4, np.float32), _r(rng, 4, np.float32)
    mean0, var0 = _r(rng, 4, np.float32), _r(rng, 4, np.float32, low=0.5)
    want_mean, want_var = mean0.copy(), var0.copy()
    want = op(x, gamma, beta, want_mean, want_var, momentum=0.3)

    (mean, mean_owner), (var, var_owner) = make_view(mean0, kind), make_view(var0, kind)
    untouched = [o.copy() for o in (mean_owner, var_owner)]
    got = op(x, gamma, beta, mean, var, momentum=0.3)

    _assert_same(got, want, np.float32)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-6)
    np.testing.assert_allclose(var, want_var, rtol=1e-6)
    assert not np.allclose(mean, mean0), "running_mean was not updated"
    if kind == "strided":             # the elements between the view's are not written
        for owner, before in zip((mean_owner, var_owner), untouched):
            np.testing.assert_array_equal(owner[1::2], before[1::2])


def test_read_only_running_stats_in_training_are_refused():
    rng = np.random.default_rng(6)
    x = _r(rng, X, np.float32)
    mean, var = np.zeros(4, np.float32), np.ones(4, np.float32)
    mean.flags.writeable = False
    with pytest.raises(ValueError, match=r"^running_mean must be writeable in training mode"):
        F.batch_norm2d(x, np.ones(4, np.float32), np.zeros(4, np.float32), mean, var)
    np.testing.assert_array_equal(var, 1.0)      # nothing half-updated
    with pytest.raises(ValueError, match=r"^running_var must be writeable"):
        F.batch_norm1d(x[:, :, 0, 0], np.ones(4, np.float32), np.zeros(4, np.float32),
                       np.zeros(4, np.float32), np.broadcast_to(np.float32(1), (4,)))


def test_read_only_running_stats_in_eval_are_fine():
    """In eval mode nothing is written: read-only statistics must be accepted."""
    x = _r(np.random.default_rng(6), X, np.float32)
    mean, var = np.zeros(4, np.float32), np.ones(4, np.float32)
    mean.flags.writeable = var.flags.writeable = False
    y, _, _ = F.batch_norm2d(x, np.ones(4, np.float32), np.zeros(4, np.float32), mean, var,
                             training=False)
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-5), rtol=1e-6)


def test_every_functional_op_is_covered():
    covered = {op.name.split()[0] for op in OPS}
    extras = {"max_pool2d_with_argmax", "max_pool2d_backward_argmax"}   # not in __all__
    missing = (set(F.__all__) | extras) - covered - {"conv_output_size"}
    assert not missing, f"add these ops to OPS: {sorted(missing)}"


# --- layers: a model fed views ---------------------------------------------------------------

def _model():
    import convcore.nn as nn

    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, rng=rng), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 3 * 3, 5, rng=rng),
                         nn.Tanh())


@pytest.mark.parametrize("kind", VARIANTS)
def test_model_forward_backward_on_views(kind):
    rng = np.random.default_rng(11)
    x0, g0 = _r(rng, (3, 4, 6, 7), np.float32), _r(rng, (3, 5), np.float32)
    (x, x_owner), (g, g_owner) = make_view(x0, kind), make_view(g0, kind)
    want_model = _model()
    want_y = want_model(np.ascontiguousarray(x).copy())
    want_gx = want_model.backward(np.ascontiguousarray(g).copy())

    before = [digest(x_owner), digest(g_owner)]
    model = _model()
    _assert_same(model(x), want_y, np.float32)
    _assert_same(model.backward(g), want_gx, np.float32)
    assert [digest(x_owner), digest(g_owner)] == before
    for p, q in zip(model.parameters(), want_model.parameters()):
        _assert_same(p.grad, q.grad, np.float32)
