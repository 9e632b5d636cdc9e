"""Argument checking (convcore._checks) through the reference ops: each error of API.md
raises the right exception with a message naming the argument; inputs are never modified."""

import inspect
import warnings
import zlib

import numpy as np
import pytest

from convcore import _checks
from convcore import reference as R

f32, f64 = np.float32, np.float64


def _x(shape=(2, 4, 6, 6), dtype=f32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


# --- TypeError: what kind of array --------------------------------------------------------------

@pytest.mark.parametrize("bad, got", [
    (np.ones((1, 1, 3, 3), np.int64), "int64"),
    (np.ones((1, 1, 3, 3), np.int32), "int32"),
    (np.ones((1, 1, 3, 3), np.float16), "float16"),
    (np.ones((1, 1, 3, 3), np.complex128), "complex128"),
    (np.ones((1, 1, 3, 3), bool), "bool"),
    (np.empty((1, 1, 3, 3), object), "object"),
])
def test_bad_dtype_is_type_error_naming_argument_and_dtype(bad, got):
    w = np.ones((1, 1, 2, 2), f32)
    with pytest.raises(TypeError, match=rf"^x must have dtype float32 or float64, got dtype {got}"):
        R.conv2d(bad, w)
    with pytest.raises(TypeError, match=rf"^weight must have dtype .*got dtype {got}"):
        R.conv2d(np.ones((1, 1, 3, 3), f32), bad[:, :, :2, :2])


@pytest.mark.parametrize("bad", [[[1.0, 2.0]], 3.0, 3, None, "abc"])
def test_non_ndarray_is_type_error(bad):
    with pytest.raises(TypeError, match=r"^x must be a numpy.ndarray"):
        R.relu(bad)
    with pytest.raises(TypeError, match=r"^weight must be a numpy.ndarray"):
        R.linear(np.ones((2, 3)), bad)


def test_mixed_dtypes_is_type_error_listing_them():
    with pytest.raises(TypeError, match=r"share one dtype.*x float32, weight float64"):
        R.conv2d(_x(), np.ones((3, 4, 3, 3), f64))
    with pytest.raises(TypeError, match=r"bias float64"):
        R.conv2d(_x(), np.ones((3, 4, 3, 3), f32), np.ones(3, f64))
    with pytest.raises(TypeError, match=r"grad_y float64, x float32"):
        R.relu_backward(np.ones(3, f64), np.ones(3, f32))
    with pytest.raises(TypeError, match=r"running_mean float64"):
        R.batch_norm2d(_x(), np.ones(4, f32), np.zeros(4, f32), np.zeros(4, f64),
                       np.ones(4, f32))


@pytest.mark.parametrize("name, value", [("stride", 1.0), ("stride", True), ("padding", "1"),
                                         ("dilation", (1, 2.0)), ("groups", 2.0),
                                         ("groups", None)])
def test_non_int_hyper_parameter_is_type_error(name, value):
    with pytest.raises(TypeError, match=rf"^{name} must be an int"):
        R.conv2d(_x(), np.ones((4, 4, 3, 3), f32), **{name: value})


def test_cross_entropy_target_type_errors():
    logits = np.zeros((3, 4))
    with pytest.raises(TypeError, match=r"^target must have an integer dtype, got dtype float64"):
        R.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match=r"^target must be a numpy.ndarray"):
        R.cross_entropy(logits, [0, 1, 2])


# --- ValueError: shapes and values -------------------------------------------------------------

def test_conv_channel_mismatch():
    with pytest.raises(ValueError, match=r"channel mismatch: weight shape \(3, 5, 3, 3\).*"
                                         r"expects 5 input channels.*x shape \(2, 4, 6, 6\)"):
        R.conv2d(_x(), np.ones((3, 5, 3, 3), f32))


def test_conv_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r"groups=3 must divide in_channels=4"):
        R.conv2d(_x(), np.ones((6, 1, 3, 3), f32), groups=3)
    with pytest.raises(ValueError, match=r"groups=2 must divide out_channels=3"):
        R.conv2d(_x(), np.ones((3, 2, 3, 3), f32), groups=2)


def test_output_size_below_one():
    with pytest.raises(ValueError, match=r"output size -1 < 1"):
        R.conv_output_size(3, 5)
    with pytest.raises(ValueError, match=r"output size < 1 along width"):
        R.conv2d(_x((1, 1, 8, 4)), np.ones((1, 1, 3, 5), f32))


def test_kernel_larger_than_padded_input():
    msg = r"larger than the padded input 6 \+ 2\*1 = 8 \(x shape \(2, 4, 6, 6\)"
    with pytest.raises(ValueError, match=msg):
        R.conv2d(_x(), np.ones((1, 4, 9, 3), f32), padding=1)
    with pytest.raises(ValueError, match=r"effective 9\) is larger than the padded input"):
        R.conv2d(_x(), np.ones((1, 4, 3, 3), f32), dilation=4)     # 4*(3-1)+1 = 9 > 6
    with pytest.raises(ValueError, match=r"max_pool2d: .*larger than the padded input"):
        R.max_pool2d(_x(), 7)


@pytest.mark.parametrize("name, value, match", [
    ("padding", -1, r"^padding must be >= 0, got -1"),
    ("padding", (0, -2), r"^padding must be >= 0, got \(0, -2\)"),
    ("stride", 0, r"^stride must be >= 1, got 0"),
    ("stride", (1, 0), r"^stride must be >= 1"),
    ("dilation", 0, r"^dilation must be >= 1"),
    ("groups", 0, r"^groups must be >= 1, got 0"),
    ("stride", (1, 2, 3), r"^stride must be an int or a pair of ints, got \(1, 2, 3\)"),
    ("padding", (), r"^padding must be an int or a pair of ints"),
])
def test_bad_hyper_parameter_values(name, value, match):
    with pytest.raises(ValueError, match=match):
        R.conv2d(_x(), np.ones((4, 4, 3, 3), f32), **{name: value})


@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel_size=0), r"^kernel_size must be >= 1"),
    (dict(kernel_size=(2, 2, 2)), r"^kernel_size must be an int or a pair"),
    (dict(kernel_size=2, stride=0), r"^stride must be >= 1"),
    (dict(kernel_size=2, padding=-1), r"^padding must be >= 0"),
    (dict(kernel_size=2, padding=2), r"padding \(2, 2\) must be at most half the kernel size"),
])
def test_pool_bad_hyper_parameters(kwargs, match):
    for op in (R.max_pool2d, R.avg_pool2d):
        with pytest.raises(ValueError, match=match):
            op(_x(), **kwargs)


def test_pair_normalises():
    assert _checks.pair("stride", 2, 1) == (2, 2)
    assert _checks.pair("padding", [1, 0], 0) == (1, 0)
    assert _checks.pair("stride", (np.int64(3), 1), 1) == (3, 1)
    assert all(type(v) is int for v in _checks.pair("stride", (np.int64(3), 1), 1))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_p_outside_range(p):
    with pytest.raises(ValueError, match=r"^p must be in \[0.0, 1.0\)"):
        R.dropout(np.ones(3), p)
    with pytest.raises(ValueError, match=r"^p must be in"):
        R.dropout_backward(np.ones(3), np.ones(3, bool), p)


def test_dropout_rng_and_mask_types():
    with pytest.raises(TypeError, match=r"^rng must be None, an int seed"):
        R.dropout(np.ones(3), 0.5, rng="seed")
    with pytest.raises(TypeError, match=r"^mask must be a bool numpy.ndarray, got float64"):
        R.dropout_backward(np.ones(3), np.ones(3), 0.5)


@pytest.mark.parametrize("target, bad", [([0, 4, 1], 4), ([0, -1, 1], -1)])
def test_cross_entropy_target_out_of_range(target, bad):
    with pytest.raises(ValueError, match=rf"^target value {bad} is out of range for 4 classes"):
        R.cross_entropy(np.zeros((3, 4)), np.array(target))
    with pytest.raises(ValueError, match=r"out of range"):
        R.cross_entropy_backward(np.zeros((3, 4)), np.array(target))


def test_cross_entropy_target_shape_and_empty_batch():
    with pytest.raises(ValueError, match=r"^target must have shape \(3,\), got shape \(2,\)"):
        R.cross_entropy(np.zeros((3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"empty batch"):
        R.cross_entropy(np.zeros((0, 4)), np.zeros(0, np.int64))


@pytest.mark.parametrize("call, match", [
    (lambda: R.conv2d(np.ones((4, 6, 6), f32), np.ones((1, 4, 3, 3), f32)),
     r"^x must be 4-D \(N, C, H, W\), got 3-D array of shape \(4, 6, 6\)"),
    (lambda: R.conv2d(_x(), np.ones((4, 3, 3), f32)), r"^weight must be 4-D"),
    (lambda: R.linear(np.ones((2, 3, 4)), np.ones((2, 4))), r"^x must be 2-D \(N, in_features\)"),
    (lambda: R.max_pool2d(np.ones((6, 6)), 2), r"^x must be 4-D"),
    (lambda: R.batch_norm2d(np.ones((4, 3)), np.ones(3), np.ones(3)), r"^x must be 4-D"),
    (lambda: R.batch_norm1d(_x(dtype=f64), np.ones(4), np.ones(4)), r"^x must be 2-D \(N, C\)"),
    (lambda: R.cross_entropy(np.ones(4), np.zeros(4, np.int64)), r"^logits must be 2-D"),
    (lambda: R.softmax(np.ones((2, 3)), axis=2), r"^axis 2 is out of range"),
])
def test_wrong_ndim(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: R.conv2d_backward(np.ones((2, 3, 4, 5), f32), _x(), np.ones((3, 4, 3, 3), f32)),
     r"^grad_y must have shape \(2, 3, 4, 4\), got shape \(2, 3, 4, 5\)"),
    (lambda: R.linear_backward(np.ones((2, 4)), np.ones((2, 3)), np.ones((5, 3))),
     r"^grad_y must have shape \(2, 5\)"),
    (lambda: R.max_pool2d_backward(np.ones((2, 4, 2, 2), f32), _x(), 2),
     r"^grad_y must have shape \(2, 4, 3, 3\)"),
    (lambda: R.avg_pool2d_backward(np.ones((2, 4, 2, 2), f32), (2, 4, 6, 6), 2),
     r"^grad_y must have shape \(2, 4, 3, 3\)"),
    (lambda: R.global_avg_pool2d_backward(np.ones((2, 4, 1, 2)), (2, 4, 6, 6)),
     r"^grad_y must have shape \(2, 4, 1, 1\)"),
    (lambda: R.batch_norm2d_backward(np.ones((2, 4, 6, 5), f32), _x(), *[np.ones(4, f32)] * 3),
     r"^grad_y must have shape \(2, 4, 6, 6\)"),
    (lambda: R.relu_backward(np.ones(4), np.ones(3)), r"^grad_y must have shape \(3,\)"),
    (lambda: R.sigmoid_backward(np.ones(4), np.ones(3)), r"^grad_y must have shape \(3,\)"),
    (lambda: R.maxout_backward(np.ones((1, 4)), np.ones((1, 4)), 2),
     r"^grad_y must have shape \(1, 2\)"),
    (lambda: R.softmax_backward(np.ones((2, 2)), np.ones((2, 3))), r"^grad_y must have shape"),
    (lambda: R.mse_loss(np.ones(3), np.ones(4)), r"^target must have shape \(3,\)"),
])
def test_backward_grad_shape_mismatch(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_batch_norm_value_errors():
    x, c = _x(dtype=f64), np.ones(4)
    with pytest.raises(ValueError, match=r"^gamma must have shape \(4,\), got shape \(3,\)"):
        R.batch_norm2d(x, np.ones(3), c)
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        R.batch_norm2d(np.ones((1, 4, 1, 1)), c, c)
    with pytest.raises(ValueError, match=r"empty batch|more than 1 value"):
        R.batch_norm1d(np.ones((0, 4)), c, c)
    with pytest.raises(ValueError, match=r"eval mode .* needs running_mean"):
        R.batch_norm2d(x, c, c, training=False)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0.0, 1.0\]"):
        R.batch_norm2d(x, c, c, momentum=1.5)
    with pytest.raises(ValueError, match=r'^activation must be None or "relu"'):
        R.batch_norm2d(x, c, c, activation="gelu")
    with pytest.raises(ValueError, match=r'activation="relu" needs y'):
        R.batch_norm2d_backward(x, x, c, c, c, activation="relu")


def test_other_value_errors():
    with pytest.raises(ValueError, match=r"^pieces=4 must divide the number of channels 6"):
        R.maxout(np.ones((2, 6)), 4)
    with pytest.raises(ValueError, match=r"^needs must be a subset"):
        R.conv2d_backward(np.ones((2, 4, 4, 4), f32), _x(), np.ones((4, 4, 3, 3), f32),
                          needs=("input",))
    with pytest.raises(ValueError, match=r'^activation must be None or "relu"'):
        R.conv2d(_x(), np.ones((4, 4, 3, 3), f32), activation="tanh")
    with pytest.raises(ValueError, match=r"^indices must be in \[0, H\*W\)"):
        R.max_pool2d_backward(np.ones((2, 4, 3, 3), f32), _x(), 2,
                              indices=np.full((2, 4, 3, 3), 36))
    with pytest.raises(ValueError, match=r"^x_shape must be a tuple of 4 ints"):
        R.avg_pool2d_backward(np.ones((2, 4, 3, 3), f32), (2, 4, 6), 2)
    with pytest.raises(ValueError, match=r"^feature mismatch"):
        R.linear(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"^mse_loss of an empty array"):
        R.mse_loss(np.ones(0), np.ones(0))


# --- Inputs are never modified -------------------------------------------------------------------

def _snapshot(*arrays):
    return [a.copy() for a in arrays]


def _assert_unchanged(arrays, copies):
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)


def test_inputs_not_modified():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 6))
    w, b = rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    gy_conv = rng.standard_normal((2, 4, 6, 6))
    gy_pool = rng.standard_normal((2, 4, 3, 3))
    logits, target = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    arrays = [x, w, b, gy_conv, gy_pool, logits, target, gamma, beta]
    copies = _snapshot(*arrays)

    R.conv2d(x, w, b, padding=1, groups=2, activation="relu")
    R.conv2d_backward(gy_conv, x, w, padding=1, groups=2)
    y, idx = R.max_pool2d(x, 2, return_indices=True)
    R.max_pool2d_backward(gy_pool, x, 2, indices=idx)
    R.avg_pool2d_backward(gy_pool, x.shape, 2)
    out, mean, invstd = R.batch_norm2d(x, gamma, beta)
    R.batch_norm2d_backward(gy_conv, x, gamma, mean, invstd, y=out, activation="relu")
    for op in (R.relu, R.sigmoid, R.tanh, R.elu, R.leaky_relu, R.softmax, R.log_softmax):
        op(x)
    R.dropout(x, 0.5, rng=0)
    R.cross_entropy(logits, target)
    R.cross_entropy_backward(logits, target)
    R.mse_loss_backward(x, gy_conv)
    _assert_unchanged(arrays, copies)


def test_batch_norm_running_stats_updated_in_place_only_in_training():
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 4)) + 5
    rm, rv = np.zeros(2), np.ones(2)
    rm_id, rv_id = id(rm), id(rv)
    R.batch_norm2d(x, np.ones(2), np.zeros(2), rm, rv, training=False)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    R.batch_norm2d(x, np.ones(2), np.zeros(2), rm, rv, training=True, momentum=0.5)
    assert id(rm) == rm_id and id(rv) == rv_id
    np.testing.assert_allclose(rm, 0.5 * x.mean((0, 2, 3)))
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var((0, 2, 3), ddof=1))


def test_results_keep_input_dtype():
    x32 = _x()
    w32 = np.ones((4, 4, 3, 3), f32)
    assert R.conv2d(x32, w32).dtype == f32
    assert all(g.dtype == f32 for g in R.conv2d_backward(np.ones((2, 4, 4, 4), f32), x32, w32))
    assert R.max_pool2d(x32, 2).dtype == f32 and R.avg_pool2d(x32, 2).dtype == f32
    assert all(a.dtype == f32 for a in R.batch_norm2d(x32, np.ones(4, f32), np.ones(4, f32)))
    assert R.softmax(x32).dtype == f32 and R.cross_entropy_backward(
        x32[:, :, 0, 0], np.zeros(2, np.int64)).dtype == f32
    assert isinstance(R.mse_loss(x32, x32), float)


def test_flags_must_be_bools():
    with pytest.raises(TypeError, match=r"^training must be a bool"):
        R.batch_norm2d(_x(), np.ones(4, f32), np.ones(4, f32), training=np.ones(2))
    with pytest.raises(TypeError, match=r"^count_include_pad must be a bool"):
        R.avg_pool2d(_x(), 2, count_include_pad="no")


# --- Garbage in: only TypeError / ValueError out -------------------------------------------------

GARBAGE = [None, 0, -1, 2, 2.5, True, (1,), (1, 2), (0, 1), "a", [1, 2], np.int64(2),
           float("nan"), np.ones(3), np.ones((2, 3)), np.ones((1, 2, 4, 4)),
           np.ones((1, 2, 4, 4), f32), np.ones((0, 2, 4, 4)), np.ones((2, 2, 1, 1)),
           np.ones(2, np.int64), np.ones((1, 1, 0, 4)), np.ones(2)]


@pytest.mark.parametrize("name", R.__all__)
def test_garbage_arguments_raise_only_type_or_value_errors(name):
    op = getattr(R, name)
    required = sum(p.default is p.empty for p in inspect.signature(op).parameters.values())
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a NumPy warning would mean a missed check
        for _ in range(150):
            picks = rng.integers(0, len(GARBAGE), required + rng.integers(0, 3))
            try:
                op(*[GARBAGE[i] for i in picks])
            except (TypeError, ValueError):
                pass
