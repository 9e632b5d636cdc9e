"""Catalogue of bad calls to convcore.functional: each must raise TypeError/ValueError naming
the argument (and the shapes), never crash the interpreter.

The catalogue runs in a child process (``python tests/test_bad_inputs.py --worker START``),
once per ISA this CPU runs, and reports one JSON line per case, flushed as it goes. If the child
dies (a segfault in a kernel, an abort from a sanitizer), the case it was running is reported as
a crash naming the signal and the remaining cases run in a fresh child: a crash is one failing
test naming the case, not a dead test run.

Three kinds of cases:
- ``Bad``: must raise the given exception type with a message matching the regex;
- ``Empty``: the empty-batch decision of SIGNATURES.md: conv / pool / activations / linear
  return a valid empty result (checked against convcore.reference); batch norm in training
  mode, cross_entropy and mse_loss raise ValueError (they are ``Bad`` cases);
- ``Survives``: NaN / inf inputs are computed without crashing, and NaN is not silently
  dropped where the reference propagates it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import traceback
from typing import Callable, NamedTuple

import numpy as np

if __name__ == "__main__":                       # worker mode: run from any cwd
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import convcore
import convcore.nn as nn
from convcore import functional as F
from convcore import reference as R

f16, f32, f64 = np.float16, np.float32, np.float64


class Bad(NamedTuple):
    id: str
    call: Callable[[], object]
    error: type             # TypeError or ValueError (RuntimeError: backward before forward)
    match: str                                   # regex searched in str(exception)


class Empty(NamedTuple):
    id: str
    call: Callable[[object], object]             # module (F or R) -> result


class Survives(NamedTuple):
    id: str
    call: Callable[[object], object]             # module (F or R) -> result
    nan_like_reference: bool                     # NaN positions must equal the reference's


def _x(shape=(2, 4, 6, 6), dtype=f32, fill=None):
    if fill is not None:
        return np.full(shape, fill, dtype)
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _w(shape=(3, 4, 3, 3), dtype=f32):
    return np.random.default_rng(1).standard_normal(shape).astype(dtype)


def _c(n=4, dtype=f32, fill=1.0):
    return np.full(n, fill, dtype)


def _obj(shape):
    a = np.empty(shape, object)
    a[...] = 1.0
    return a


def _nan_x(dtype=f32):
    x = _x(dtype=dtype)
    x[0, 1, 2, 3] = np.nan
    x[1, 2, 0, 0] = np.inf
    x[1, 3, 5, 5] = -np.inf
    return x


_ONES_IDX = np.zeros((2, 4, 3, 3), np.int64)

BAD: list[Bad] = [
    # --- wrong ndim --------------------------------------------------------------------------
    Bad("conv2d x 3-D", lambda: F.conv2d(_x((4, 6, 6)), _w()), ValueError,
        r"^x must be 4-D \(N, C, H, W\), got 3-D array of shape \(4, 6, 6\)"),
    Bad("conv2d weight 3-D", lambda: F.conv2d(_x(), _w((3, 4, 3))), ValueError,
        r"^weight must be 4-D .*shape \(3, 4, 3\)"),
    Bad("conv2d bias 2-D", lambda: F.conv2d(_x(), _w(), _c(3).reshape(3, 1)), ValueError,
        r"^bias must be 1-D .*shape \(3, 1\)"),
    Bad("linear x 3-D", lambda: F.linear(_x((2, 3, 4)), _w((5, 4))), ValueError,
        r"^x must be 2-D \(N, in_features\), got 3-D array of shape \(2, 3, 4\)"),
    Bad("max_pool2d x 2-D", lambda: F.max_pool2d(_x((6, 6)), 2), ValueError,
        r"^x must be 4-D .*shape \(6, 6\)"),
    Bad("avg_pool2d x 5-D", lambda: F.avg_pool2d(_x((1, 2, 4, 6, 6)), 2), ValueError,
        r"^x must be 4-D .*shape \(1, 2, 4, 6, 6\)"),
    Bad("global_avg_pool2d x 3-D", lambda: F.global_avg_pool2d(_x((4, 6, 6))), ValueError,
        r"^x must be 4-D"),
    Bad("batch_norm2d x 2-D", lambda: F.batch_norm2d(_x((4, 3)), _c(3), _c(3)), ValueError,
        r"^x must be 4-D .*shape \(4, 3\)"),
    Bad("batch_norm1d x 4-D", lambda: F.batch_norm1d(_x(), _c(), _c()), ValueError,
        r"^x must be 2-D \(N, C\)"),
    Bad("cross_entropy logits 1-D",
        lambda: F.cross_entropy(_x((4,), f64), np.zeros(4, np.int64)), ValueError,
        r"^logits must be 2-D"),
    Bad("maxout x 1-D", lambda: F.maxout(_x((6,)), 2), ValueError, r"x must be at least 2-D"),
    # --- channel / group mismatches ----------------------------------------------------------
    Bad("conv2d channel mismatch", lambda: F.conv2d(_x(), _w((3, 5, 3, 3))), ValueError,
        r"channel mismatch: weight shape \(3, 5, 3, 3\).*x shape \(2, 4, 6, 6\)"),
    Bad("conv2d groups vs in_channels", lambda: F.conv2d(_x(), _w((6, 1, 3, 3)), groups=3),
        ValueError, r"groups=3 must divide in_channels=4"),
    Bad("conv2d groups vs out_channels", lambda: F.conv2d(_x(), _w((3, 2, 3, 3)), groups=2),
        ValueError, r"groups=2 must divide out_channels=3 \(weight shape \(3, 2, 3, 3\)\)"),
    Bad("conv2d grouped channel mismatch", lambda: F.conv2d(_x(), _w((4, 4, 3, 3)), groups=2),
        ValueError, r"channel mismatch: weight shape \(4, 4, 3, 3\) with groups=2"),
    Bad("conv2d bias length", lambda: F.conv2d(_x(), _w(), _c(4)), ValueError,
        r"^bias must have shape \(3,\), got shape \(4,\)"),
    Bad("conv2d empty kernel", lambda: F.conv2d(_x(), _w((3, 4, 0, 3))), ValueError,
        r"weight must have a non-empty kernel.*\(3, 4, 0, 3\)"),
    Bad("linear feature mismatch", lambda: F.linear(_x((2, 3)), _w((4, 5))), ValueError,
        r"feature mismatch: weight shape \(4, 5\)"),
    Bad("linear bias length", lambda: F.linear(_x((2, 3)), _w((4, 3)), _c(3)), ValueError,
        r"bias must have shape \(4,\), got shape \(3,\)"),
    Bad("batch_norm2d gamma length", lambda: F.batch_norm2d(_x(), _c(3), _c()), ValueError,
        r"^gamma must have shape \(4,\), got shape \(3,\)"),
    Bad("batch_norm2d running_var length",
        lambda: F.batch_norm2d(_x(), _c(), _c(), _c(fill=0.0), _c(5)), ValueError,
        r"^running_var must have shape \(4,\), got shape \(5,\)"),
    Bad("batch_norm1d beta 2-D", lambda: F.batch_norm1d(_x((3, 4)), _c(), _c().reshape(2, 2)),
        ValueError, r"^beta must be 1-D"),
    Bad("maxout pieces vs channels", lambda: F.maxout(_x((2, 6)), 4), ValueError,
        r"pieces=4 must divide the number of channels 6 \(x shape \(2, 6\)\)"),
    # --- kernel larger than the padded input -------------------------------------------------
    Bad("conv2d kernel > padded input", lambda: F.conv2d(_x(), _w((1, 4, 9, 3)), padding=1),
        ValueError, r"larger than the padded input 6 \+ 2\*1 = 8 \(x shape \(2, 4, 6, 6\)"),
    Bad("conv2d dilated kernel > input", lambda: F.conv2d(_x(), _w((1, 4, 3, 3)), dilation=4),
        ValueError, r"effective 9\) is larger than the padded input"),
    Bad("max_pool2d kernel > input", lambda: F.max_pool2d(_x(), 7), ValueError,
        r"max_pool2d: .*larger than the padded input.*x shape \(2, 4, 6, 6\)"),
    Bad("avg_pool2d kernel > input width", lambda: F.avg_pool2d(_x((1, 1, 9, 4)), (1, 5)),
        ValueError, r"avg_pool2d: output size < 1 along width"),
    Bad("conv_output_size < 1", lambda: F.conv_output_size(3, 5), ValueError,
        r"output size -1 < 1"),
    Bad("conv2d on H == 0", lambda: F.conv2d(_x((1, 4, 0, 6)), _w()), ValueError,
        r"larger than the padded input 0"),
    # --- zero / negative stride, negative padding --------------------------------------------
    Bad("conv2d stride 0", lambda: F.conv2d(_x(), _w(), stride=0), ValueError,
        r"^stride must be >= 1, got 0"),
    Bad("conv2d stride (1, -1)", lambda: F.conv2d(_x(), _w(), stride=(1, -1)), ValueError,
        r"^stride must be >= 1, got \(1, -1\)"),
    Bad("max_pool2d stride 0", lambda: F.max_pool2d(_x(), 2, stride=0), ValueError,
        r"^stride must be >= 1"),
    Bad("avg_pool2d stride -2", lambda: F.avg_pool2d(_x(), 2, stride=-2), ValueError,
        r"^stride must be >= 1, got -2"),
    Bad("conv2d dilation 0", lambda: F.conv2d(_x(), _w(), dilation=0), ValueError,
        r"^dilation must be >= 1"),
    Bad("conv2d groups 0", lambda: F.conv2d(_x(), _w(), groups=0), ValueError,
        r"^groups must be >= 1, got 0"),
    Bad("conv2d padding -1", lambda: F.conv2d(_x(), _w(), padding=-1), ValueError,
        r"^padding must be >= 0, got -1"),
    Bad("max_pool2d padding (0, -1)", lambda: F.max_pool2d(_x(), 2, padding=(0, -1)),
        ValueError, r"^padding must be >= 0, got \(0, -1\)"),
    Bad("avg_pool2d padding > kernel/2", lambda: F.avg_pool2d(_x(), 2, padding=2), ValueError,
        r"padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
    Bad("max_pool2d stride 2**63", lambda: F.max_pool2d(_x(), 2, stride=2**63), ValueError,
        r"^stride must be <= 2147483647, got 9223372036854775808"),
    Bad("conv2d padding (0, 2**40)", lambda: F.conv2d(_x(), _w(), padding=(0, 2**40)),
        ValueError, r"^padding must be <= 2147483647, got \(0, 1099511627776\)"),
    Bad("max_pool2d kernel_size 0", lambda: F.max_pool2d(_x(), 0), ValueError,
        r"^kernel_size must be >= 1"),
    # --- malformed tuples and non-int hyper-parameters ---------------------------------------
    Bad("conv2d stride triple", lambda: F.conv2d(_x(), _w(), stride=(1, 2, 3)), ValueError,
        r"^stride must be an int or a pair of ints, got \(1, 2, 3\)"),
    Bad("conv2d padding ()", lambda: F.conv2d(_x(), _w(), padding=()), ValueError,
        r"^padding must be an int or a pair of ints"),
    Bad("conv2d dilation (1, 2.0)", lambda: F.conv2d(_x(), _w(), dilation=(1, 2.0)), TypeError,
        r"^dilation must be an int or a pair of ints"),
    Bad("conv2d stride '2'", lambda: F.conv2d(_x(), _w(), stride="2"), TypeError,
        r"^stride must be an int or a pair of ints, got str"),
    Bad("conv2d stride True", lambda: F.conv2d(_x(), _w(), stride=True), TypeError,
        r"^stride must be an int or a pair of ints, got bool"),
    Bad("conv2d groups 2.0", lambda: F.conv2d(_x(), _w((4, 2, 3, 3)), groups=2.0), TypeError,
        r"^groups must be an int, got float"),
    Bad("conv2d stride (None, 1)", lambda: F.conv2d(_x(), _w(), stride=(None, 1)), TypeError,
        r"^stride must be an int or a pair of ints"),
    Bad("max_pool2d kernel_size triple", lambda: F.max_pool2d(_x(), (2, 2, 2)), ValueError,
        r"^kernel_size must be an int or a pair of ints"),
    Bad("max_pool2d kernel_size None", lambda: F.max_pool2d(_x(), None), TypeError,
        r"^kernel_size must be an int or a pair of ints, got NoneType"),
    Bad("avg_pool2d kernel_size 2.5", lambda: F.avg_pool2d(_x(), 2.5), TypeError,
        r"^kernel_size must be an int or a pair"),
    Bad("max_pool2d return_indices 'yes'", lambda: F.max_pool2d(_x(), 2, return_indices="yes"),
        TypeError, r"^return_indices must be a bool"),
    Bad("avg_pool2d count_include_pad 0",
        lambda: F.avg_pool2d(_x(), 2, count_include_pad=0), TypeError,
        r"^count_include_pad must be a bool"),
    Bad("conv2d activation 'gelu'", lambda: F.conv2d(_x(), _w(), activation="gelu"), ValueError,
        r'^activation must be None or "relu"'),
    Bad("conv2d_backward needs ('input',)",
        lambda: F.conv2d_backward(_x((2, 3, 4, 4)), _x(), _w(), needs=("input",)), ValueError,
        r"^needs must be a subset"),
    # --- dtypes ------------------------------------------------------------------------------
    Bad("conv2d x int32", lambda: F.conv2d(np.ones((2, 4, 6, 6), np.int32), _w()), TypeError,
        r"^x must have dtype float32 or float64, got dtype int32"),
    Bad("conv2d weight float16", lambda: F.conv2d(_x(), _w(dtype=f16)), TypeError,
        r"^weight must have dtype float32 or float64, got dtype float16"),
    Bad("conv2d x f32 weight f64", lambda: F.conv2d(_x(), _w(dtype=f64)), TypeError,
        r"share one dtype, got x float32, weight float64"),
    Bad("conv2d bias f64", lambda: F.conv2d(_x(), _w(), _c(3, f64)), TypeError,
        r"bias float64"),
    Bad("conv2d x object array", lambda: F.conv2d(_obj((2, 4, 6, 6)), _w()), TypeError,
        r"^x must have dtype .*got dtype object"),
    Bad("linear int64", lambda: F.linear(np.ones((2, 3), np.int64), _w((4, 3))), TypeError,
        r"^x must have dtype .*int64"),
    Bad("relu bool", lambda: F.relu(np.ones(3, bool)), TypeError, r"^x must have dtype.*bool"),
    Bad("sigmoid float16", lambda: F.sigmoid(_x(dtype=f16)), TypeError,
        r"^x must have dtype.*float16"),
    Bad("softmax complex128", lambda: F.softmax(np.ones((2, 3), complex)), TypeError,
        r"^x must have dtype.*complex128"),
    Bad("max_pool2d float16", lambda: F.max_pool2d(_x(dtype=f16), 2), TypeError,
        r"^x must have dtype.*float16"),
    Bad("avg_pool2d object", lambda: F.avg_pool2d(_obj((1, 1, 4, 4)), 2), TypeError,
        r"^x must have dtype.*object"),
    Bad("batch_norm2d running_mean f64",
        lambda: F.batch_norm2d(_x(), _c(), _c(), _c(dtype=f64), _c()), TypeError,
        r"share one dtype.*running_mean float64"),
    Bad("batch_norm2d gamma int", lambda: F.batch_norm2d(_x(), np.ones(4, np.int32), _c()),
        TypeError, r"^gamma must have dtype.*int32"),
    Bad("mse_loss f32 vs f64", lambda: F.mse_loss(_x(), _x(dtype=f64)), TypeError,
        r"pred float32, target float64"),
    Bad("relu_backward grad f64 x f32", lambda: F.relu_backward(_x(dtype=f64), _x()), TypeError,
        r"grad_y float64, x float32"),
    # --- not arrays at all -------------------------------------------------------------------
    Bad("conv2d x list", lambda: F.conv2d(_x().tolist(), _w()), TypeError,
        r"^x must be a numpy.ndarray.*got list"),
    Bad("linear weight list", lambda: F.linear(_x((2, 3)), [[1.0, 2.0, 3.0]]), TypeError,
        r"^weight must be a numpy.ndarray.*got list"),
    Bad("relu scalar", lambda: F.relu(3.0), TypeError, r"^x must be a numpy.ndarray.*float"),
    Bad("tanh None", lambda: F.tanh(None), TypeError, r"^x must be a numpy.ndarray.*NoneType"),
    Bad("max_pool2d matrix", lambda: F.max_pool2d(np.matrix([[1.0]]), 1), ValueError,
        r"^x must be 4-D"),
    Bad("mse_loss target list", lambda: F.mse_loss(_x((3,), f64), [1.0, 2.0, 3.0]), TypeError,
        r"^target must be a numpy.ndarray"),
    Bad("batch_norm2d gamma list", lambda: F.batch_norm2d(_x(), [1.0] * 4, _c()), TypeError,
        r"^gamma must be a numpy.ndarray"),
    # --- class targets -----------------------------------------------------------------------
    Bad("cross_entropy target 4 of 4 classes",
        lambda: F.cross_entropy(_x((3, 4)), np.array([0, 4, 1])), ValueError,
        r"^target value 4 is out of range for 4 classes \(logits shape \(3, 4\)\)"),
    Bad("cross_entropy target -1", lambda: F.cross_entropy(_x((3, 4)), np.array([0, -1, 1])),
        ValueError, r"^target value -1 is out of range"),
    Bad("cross_entropy target float",
        lambda: F.cross_entropy(_x((3, 4)), np.array([0.0, 1.0, 2.0])), TypeError,
        r"^target must have an integer dtype, got dtype float64"),
    Bad("cross_entropy target shape", lambda: F.cross_entropy(_x((3, 4)), np.array([0, 1])),
        ValueError, r"^target must have shape \(3,\), got shape \(2,\)"),
    Bad("cross_entropy target list", lambda: F.cross_entropy(_x((3, 4)), [0, 1, 2]),
        TypeError, r"^target must be a numpy.ndarray"),
    Bad("cross_entropy_backward target 2**40",
        lambda: F.cross_entropy_backward(_x((2, 4)), np.array([0, 2**40])), ValueError,
        r"target value 1099511627776 is out of range"),
    Bad("cross_entropy target uint64 huge",
        lambda: F.cross_entropy(_x((2, 4)), np.array([0, 2**64 - 1], np.uint64)), ValueError,
        r"out of range for 4 classes"),
    # --- dropout p ---------------------------------------------------------------------------
    Bad("dropout p 1.0", lambda: F.dropout(_x(), 1.0), ValueError,
        r"^p must be in \[0.0, 1.0\), got 1.0"),
    Bad("dropout p -0.1", lambda: F.dropout(_x(), -0.1), ValueError, r"^p must be in"),
    Bad("dropout p nan", lambda: F.dropout(_x(), float("nan")), ValueError, r"^p must be in"),
    Bad("dropout p '0.5'", lambda: F.dropout(_x(), "0.5"), TypeError,
        r"^p must be a real number, got str"),
    Bad("dropout rng 'seed'", lambda: F.dropout(_x(), 0.5, rng="seed"), TypeError,
        r"^rng must be None, an int seed or a numpy.random.Generator"),
    Bad("dropout_backward p 1", lambda: F.dropout_backward(_x(), np.ones(_x().shape, bool), 1),
        ValueError, r"^p must be in"),
    Bad("dropout_backward mask float", lambda: F.dropout_backward(_x(), _x(), 0.5), TypeError,
        r"^mask must be a bool numpy.ndarray, got float32"),
    Bad("dropout_backward mask shape",
        lambda: F.dropout_backward(_x(), np.ones((2, 4), bool), 0.5), ValueError,
        r"^mask must have shape \(2, 4, 6, 6\), got shape \(2, 4\)"),
    # --- mismatched backward shapes ----------------------------------------------------------
    Bad("conv2d_backward grad_y shape",
        lambda: F.conv2d_backward(_x((2, 3, 4, 5)), _x(), _w()), ValueError,
        r"^grad_y must have shape \(2, 3, 4, 4\), got shape \(2, 3, 4, 5\)"),
    Bad("conv2d_backward grad_y dtype",
        lambda: F.conv2d_backward(_x((2, 3, 4, 4), f64), _x(), _w()), TypeError,
        r"grad_y float64, x float32"),
    Bad("conv2d_backward grad_y 3-D", lambda: F.conv2d_backward(_x((3, 4, 4)), _x(), _w()),
        ValueError, r"^grad_y must be 4-D"),
    Bad("linear_backward grad_y shape",
        lambda: F.linear_backward(_x((2, 4)), _x((2, 3)), _w((5, 3))), ValueError,
        r"^grad_y must have shape \(2, 5\)"),
    Bad("max_pool2d_backward grad_y shape",
        lambda: F.max_pool2d_backward(_x((2, 4, 2, 2)), _x(), 2), ValueError,
        r"^grad_y must have shape \(2, 4, 3, 3\), got shape \(2, 4, 2, 2\)"),
    Bad("avg_pool2d_backward grad_y shape",
        lambda: F.avg_pool2d_backward(_x((2, 4, 2, 2)), (2, 4, 6, 6), 2), ValueError,
        r"^grad_y must have shape \(2, 4, 3, 3\)"),
    Bad("avg_pool2d_backward x_shape 3 ints",
        lambda: F.avg_pool2d_backward(_x((2, 4, 3, 3)), (2, 4, 6), 2), ValueError,
        r"^x_shape must be a tuple of 4 ints"),
    Bad("avg_pool2d_backward x_shape negative",
        lambda: F.avg_pool2d_backward(_x((2, 4, 3, 3)), (2, 4, -6, 6), 2), ValueError,
        r"^x_shape\[2\] must be >= 0"),
    Bad("avg_pool2d_backward x_shape float",
        lambda: F.avg_pool2d_backward(_x((2, 4, 3, 3)), (2, 4, 6.0, 6), 2), TypeError,
        r"^x_shape\[2\] must be an int"),
    Bad("global_avg_pool2d_backward grad_y shape",
        lambda: F.global_avg_pool2d_backward(_x((2, 4, 1, 2)), (2, 4, 6, 6)), ValueError,
        r"^grad_y must have shape \(2, 4, 1, 1\)"),
    Bad("batch_norm2d_backward grad_y shape",
        lambda: F.batch_norm2d_backward(_x((2, 4, 6, 5)), _x(), _c(), _c(), _c()), ValueError,
        r"^grad_y must have shape \(2, 4, 6, 6\), got shape \(2, 4, 6, 5\)"),
    Bad("batch_norm2d_backward save_invstd length",
        lambda: F.batch_norm2d_backward(_x(), _x(), _c(), _c(), _c(3)), ValueError,
        r"^save_invstd must have shape \(4,\), got shape \(3,\)"),
    Bad("batch_norm2d_backward relu without y",
        lambda: F.batch_norm2d_backward(_x(), _x(), _c(), _c(), _c(), activation="relu"),
        ValueError, r'activation="relu" needs y'),
    Bad("relu_backward shape", lambda: F.relu_backward(_x((4,)), _x((3,))), ValueError,
        r"^grad_y must have shape \(3,\), got shape \(4,\)"),
    Bad("sigmoid_backward shape", lambda: F.sigmoid_backward(_x((2, 3)), _x((3, 2))),
        ValueError, r"^grad_y must have shape \(3, 2\)"),
    Bad("elu_backward shape", lambda: F.elu_backward(_x((2, 3)), _x((2, 4))), ValueError,
        r"^grad_y must have shape \(2, 4\)"),
    Bad("maxout_backward shape", lambda: F.maxout_backward(_x((1, 4)), _x((1, 4)), 2),
        ValueError, r"^grad_y must have shape \(1, 2\)"),
    Bad("softmax_backward shape", lambda: F.softmax_backward(_x((2, 2)), _x((2, 3))),
        ValueError, r"^grad_y must have shape \(2, 3\)"),
    Bad("mse_loss shapes", lambda: F.mse_loss(_x((3,)), _x((4,))), ValueError,
        r"^target must have shape \(3,\), got shape \(4,\)"),
    Bad("softmax axis 2 of 2-D", lambda: F.softmax(_x((2, 3)), axis=2), ValueError,
        r"^axis 2 is out of range for an array of 2 dimensions"),
    # --- max-pool indices --------------------------------------------------------------------
    Bad("indices float", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=_ONES_IDX.astype(f32)), TypeError,
        r"^indices must be an integer numpy.ndarray, got float32"),
    Bad("indices list", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=_ONES_IDX.tolist()), TypeError,
        r"^indices must be an integer numpy.ndarray, got list"),
    Bad("indices shape", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=_ONES_IDX[:, :, :2]), ValueError,
        r"^indices must have shape \(2, 4, 3, 3\), got shape \(2, 4, 2, 3\)"),
    Bad("indices == H*W", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=np.full((2, 4, 3, 3), 36)), ValueError,
        r"^indices must be in \[0, H\*W\) = \[0, 36\)"),
    Bad("indices negative", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=np.full((2, 4, 3, 3), -1, np.int32)), ValueError,
        r"^indices must be in \[0, H\*W\)"),
    Bad("indices uint64 huge", lambda: F.max_pool2d_backward(
        _x((2, 4, 3, 3)), _x(), 2, indices=np.full((2, 4, 3, 3), 2**63, np.uint64)),
        ValueError, r"^indices must be in \[0, H\*W\)"),
    Bad("argmax int64", lambda: F.max_pool2d_backward_argmax(
        _x((2, 4, 3, 3)), np.zeros((2, 4, 3, 3), np.int64), (2, 4, 6, 6), 2), TypeError,
        r"^argmax must be a numpy.ndarray of dtype uint8 .*got int64"),
    Bad("argmax list", lambda: F.max_pool2d_backward_argmax(
        _x((2, 4, 3, 3)), [0] * 72, (2, 4, 6, 6), 2), TypeError,
        r"^argmax must be a numpy.ndarray of dtype uint8 .*got list"),
    Bad("argmax shape", lambda: F.max_pool2d_backward_argmax(
        _x((2, 4, 3, 3)), np.zeros((2, 4, 2, 3), np.uint8), (2, 4, 6, 6), 2), ValueError,
        r"^argmax must have shape \(2, 4, 3, 3\), got shape \(2, 4, 2, 3\)"),
    Bad("argmax x_shape vs grad_y", lambda: F.max_pool2d_backward_argmax(
        _x((2, 4, 3, 3)), np.zeros((2, 4, 3, 3), np.uint8), (2, 4, 8, 8), 2), ValueError,
        r"^grad_y must have shape \(2, 4, 4, 4\), got shape \(2, 4, 3, 3\)"),
    # --- empty batch: averaging ops refuse it (SIGNATURES.md) --------------------------------
    Bad("batch_norm2d training N=0", lambda: F.batch_norm2d(_x((0, 4, 3, 3)), _c(), _c()),
        ValueError, r"more than 1 value per channel, got x shape \(0, 4, 3, 3\)"),
    Bad("batch_norm1d training N=0", lambda: F.batch_norm1d(_x((0, 4)), _c(), _c()),
        ValueError, r"more than 1 value per channel, got x shape \(0, 4\)"),
    Bad("batch_norm2d training 1 value/channel",
        lambda: F.batch_norm2d(_x((1, 4, 1, 1)), _c(), _c()), ValueError,
        r"more than 1 value per channel"),
    Bad("cross_entropy N=0", lambda: F.cross_entropy(_x((0, 4)), np.zeros(0, np.int64)),
        ValueError, r"empty batch"),
    Bad("cross_entropy_backward N=0",
        lambda: F.cross_entropy_backward(_x((0, 4)), np.zeros(0, np.int64)), ValueError,
        r"empty batch"),
    Bad("mse_loss empty", lambda: F.mse_loss(_x((0, 3)), _x((0, 3))), ValueError,
        r"^mse_loss of an empty array is undefined \(pred shape \(0, 3\)\)"),
    Bad("mse_loss_backward empty", lambda: F.mse_loss_backward(_x((0,)), _x((0,))), ValueError,
        r"^mse_loss of an empty array"),
    Bad("global_avg_pool2d H*W == 0", lambda: F.global_avg_pool2d(_x((2, 3, 0, 4))),
        ValueError, r"needs H\*W > 0, got x shape \(2, 3, 0, 4\)"),
    # --- other values ------------------------------------------------------------------------
    Bad("batch_norm2d eval without stats",
        lambda: F.batch_norm2d(_x(), _c(), _c(), training=False), ValueError,
        r"eval mode \(training=False\) needs running_mean and running_var"),
    Bad("batch_norm2d only running_mean",
        lambda: F.batch_norm2d(_x(), _c(), _c(), running_mean=_c()), ValueError,
        r"running_mean and running_var must be given together"),
    Bad("batch_norm2d read-only running_mean",
        lambda: F.batch_norm2d(_x(), _c(), _c(), np.broadcast_to(_c(fill=0.0), (4,)), _c()),
        ValueError, r"^running_mean must be writeable in training mode"),
    Bad("batch_norm2d momentum 1.5", lambda: F.batch_norm2d(_x(), _c(), _c(), momentum=1.5),
        ValueError, r"^momentum must be in \[0.0, 1.0\], got 1.5"),
    Bad("batch_norm2d eps -1", lambda: F.batch_norm2d(_x(), _c(), _c(), eps=-1.0), ValueError,
        r"^eps must be in \[0.0, inf\]"),
    Bad("batch_norm2d training 'yes'", lambda: F.batch_norm2d(_x(), _c(), _c(), training="yes"),
        TypeError, r"^training must be a bool"),
    Bad("batch_norm2d activation 'tanh'",
        lambda: F.batch_norm2d(_x(), _c(), _c(), activation="tanh"), ValueError,
        r'^activation must be None or "relu"'),
    Bad("leaky_relu slope '0.1'", lambda: F.leaky_relu(_x(), "0.1"), TypeError,
        r"^negative_slope must be a real number"),
    Bad("elu alpha None", lambda: F.elu(_x(), None), TypeError, r"^alpha must be a real number"),
    Bad("maxout pieces 0", lambda: F.maxout(_x(), 0), ValueError, r"^pieces must be >= 1"),
    Bad("maxout pieces 2.0", lambda: F.maxout(_x(), 2.0), TypeError, r"^pieces must be an int"),
]


def _check_empty_like_reference(M, fn):
    got, expected = fn(M), fn(R)
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, np.ndarray) and g.shape == e.shape and g.dtype == e.dtype, (
            f"got {type(g).__name__} {getattr(g, 'shape', '')} {getattr(g, 'dtype', '')}, "
            f"reference {e.shape} {e.dtype}")
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)


_EMPTY_X = _x((0, 4, 6, 6))
_EMPTY_W = _w((6, 2, 3, 3))

EMPTY: list[Empty] = [
    Empty("conv2d N=0", lambda M: M.conv2d(_EMPTY_X, _EMPTY_W, _c(6), padding=1, groups=2)),
    Empty("conv2d N=0 fused relu", lambda M: M.conv2d(_EMPTY_X, _EMPTY_W, _c(6), groups=2,
                                                      activation="relu")),
    Empty("conv2d_backward N=0 (grad_weight, grad_bias are zeros)",
          lambda M: M.conv2d_backward(_x((0, 6, 4, 4)), _EMPTY_X, _EMPTY_W, groups=2)),
    Empty("conv2d K=0", lambda M: M.conv2d(_x(), _w((0, 4, 3, 3)))),
    Empty("linear N=0", lambda M: M.linear(_x((0, 3)), _w((5, 3)), _c(5))),
    Empty("linear_backward N=0", lambda M: M.linear_backward(_x((0, 5)), _x((0, 3)), _w((5, 3)))),
    Empty("max_pool2d N=0", lambda M: M.max_pool2d(_EMPTY_X, 3, 2, 1, return_indices=True)),
    Empty("max_pool2d_backward N=0", lambda M: M.max_pool2d_backward(
        _x((0, 4, 3, 3)), _EMPTY_X, 3, 2, 1)),
    Empty("max_pool2d_backward N=0 with indices", lambda M: M.max_pool2d_backward(
        _x((0, 4, 3, 3)), _EMPTY_X, 2, indices=np.zeros((0, 4, 3, 3), np.int64))),
    Empty("avg_pool2d N=0", lambda M: M.avg_pool2d(_EMPTY_X, 2, padding=1,
                                                   count_include_pad=False)),
    Empty("avg_pool2d_backward N=0", lambda M: M.avg_pool2d_backward(
        _x((0, 4, 3, 3)), (0, 4, 6, 6), 2)),
    Empty("global_avg_pool2d N=0", lambda M: M.global_avg_pool2d(_EMPTY_X)),
    Empty("global_avg_pool2d_backward N=0",
          lambda M: M.global_avg_pool2d_backward(_x((0, 4, 1, 1)), (0, 4, 6, 6))),
    Empty("batch_norm2d eval N=0", lambda M: M.batch_norm2d(
        _EMPTY_X, _c(), _c(), _c(fill=0.0), _c(), training=False)),
    Empty("relu/sigmoid/tanh/elu/leaky_relu N=0", lambda M: tuple(
        op(_EMPTY_X) for op in (M.relu, M.sigmoid, M.tanh, M.elu, M.leaky_relu))),
    Empty("activation backwards N=0", lambda M: tuple(
        op(_EMPTY_X, _EMPTY_X) for op in (M.relu_backward, M.sigmoid_backward,
                                          M.tanh_backward, M.elu_backward,
                                          M.leaky_relu_backward))),
    Empty("maxout N=0", lambda M: (M.maxout(_EMPTY_X, 2),
                                   M.maxout_backward(_x((0, 2, 6, 6)), _EMPTY_X, 2))),
    Empty("softmax/log_softmax N=0", lambda M: (M.softmax(_x((0, 5))), M.log_softmax(_x((0, 5))))),
    Empty("dropout N=0", lambda M: M.dropout(_EMPTY_X, 0.5, rng=0)),
]


def _nan_logits():
    z = _x((4, 5), f64)
    z[1, 2], z[2, 0], z[3, 4] = np.nan, np.inf, -np.inf
    return z


SURVIVES: list[Survives] = [
    Survives("conv2d NaN/inf", lambda M: M.conv2d(_nan_x(), _w(), padding=1), False),
    Survives("conv2d NaN weight", lambda M: M.conv2d(_x(), _nan_w((3, 4, 3, 3))), False),
    Survives("conv2d_backward NaN/inf", lambda M: M.conv2d_backward(
        _x((2, 3, 6, 6)), _nan_x(), _w(), padding=1), False),
    Survives("linear NaN/inf", lambda M: M.linear(_nan_x().reshape(2, -1), _w((3, 144))), False),
    Survives("max_pool2d NaN/inf", lambda M: M.max_pool2d(_nan_x(), 3, 1, 1), True),
    Survives("max_pool2d_backward NaN/inf", lambda M: M.max_pool2d_backward(
        _x((2, 4, 6, 6)), _nan_x(), 3, 1, 1), True),
    Survives("avg_pool2d NaN/inf", lambda M: M.avg_pool2d(_nan_x(), 2), True),
    Survives("global_avg_pool2d NaN/inf", lambda M: M.global_avg_pool2d(_nan_x()), True),
    Survives("batch_norm2d NaN/inf", lambda M: M.batch_norm2d(_nan_x(), _c(), _c()), False),
    Survives("relu/sigmoid/tanh/elu NaN/inf", lambda M: tuple(
        op(_nan_x()) for op in (M.relu, M.sigmoid, M.tanh, M.elu, M.leaky_relu)), True),
    Survives("activation backwards NaN/inf x", lambda M: tuple(
        op(_x(), _nan_x()) for op in (M.relu_backward, M.leaky_relu_backward, M.elu_backward)),
        True),
    Survives("sigmoid/tanh backward NaN/inf grad", lambda M: tuple(
        op(_nan_x(), M.sigmoid(_x())) for op in (M.sigmoid_backward, M.tanh_backward)), True),
    Survives("maxout NaN/inf", lambda M: M.maxout(_nan_x(), 2), False),
    Survives("softmax NaN/inf", lambda M: M.softmax(_nan_logits()), False),
    Survives("cross_entropy NaN/inf", lambda M: np.array(
        M.cross_entropy(_nan_logits(), np.array([0, 1, 2, 3]))), False),
    Survives("cross_entropy_backward NaN/inf",
             lambda M: M.cross_entropy_backward(_nan_logits(), np.array([0, 1, 2, 3])), False),
    Survives("mse_loss inf", lambda M: np.array(M.mse_loss(_nan_x(), _x())), True),
]


def _nan_w(shape):
    w = _w(shape)
    w[1, 2, 1, 1] = np.nan
    return w


def _check_survives(M, case: Survives):
    got, expected = case.call(M), case.call(R)
    got = got if isinstance(got, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for g, e in zip(got, expected):
        g = np.asarray(g)
        assert g.shape == e.shape, f"shape {g.shape}, reference {e.shape}"
        if case.nan_like_reference:
            bad = np.isnan(g) != np.isnan(e)
            assert not bad.any(), f"NaN at {np.argwhere(bad)[:3].tolist()} differs from reference"
        elif np.isnan(e).any():
            assert np.isnan(g).any(), "the reference has NaN, this result has none (NaN dropped)"


# --------------------------------------------------------------------------------------------
# Layers (convcore.nn): the same checks, reached through modules
# --------------------------------------------------------------------------------------------

def _fwd_bwd(layer, x, grad):
    layer(x)
    return layer.backward(grad)


_X2 = _x((2, 5))

BAD += [
    Bad("Conv2d in_channels mismatch", lambda: nn.Conv2d(3, 8, 3)(_x()), ValueError,
        r"channel mismatch: weight shape \(8, 3, 3, 3\).*x shape \(2, 4, 6, 6\)"),
    Bad("Conv2d groups vs channels", lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError,
        r"divisible by groups \(4\)"),
    Bad("Conv2d in_channels 0", lambda: nn.Conv2d(0, 6, 3), ValueError, r"in_channels"),
    Bad("Conv2d in_channels 4.0", lambda: nn.Conv2d(4.0, 6, 3), TypeError, r"in_channels"),
    Bad("Conv2d stride 0", lambda: nn.Conv2d(4, 6, 3, stride=0)(_x()), ValueError,
        r"stride must be >= 1, got \(0, 0\)"),
    Bad("Conv2d padding -1", lambda: nn.Conv2d(4, 6, 3, padding=-1)(_x()), ValueError,
        r"padding must be >= 0, got \(-1, -1\)"),
    Bad("Conv2d kernel_size triple", lambda: nn.Conv2d(4, 6, (3, 3, 3)), TypeError,
        r"kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    Bad("Conv2d dtype int32", lambda: nn.Conv2d(4, 6, 3, dtype=np.int32), TypeError,
        r"dtype must be float32 or float64, got int32"),
    Bad("Conv2d float64 x into float32 layer", lambda: nn.Conv2d(4, 6, 3)(_x(dtype=f64)),
        TypeError, r"x float64, weight float32"),
    Bad("Conv2d x list", lambda: nn.Conv2d(4, 6, 3)(_x().tolist()), TypeError,
        r"^x must be a numpy.ndarray"),
    Bad("Linear feature mismatch", lambda: nn.Linear(5, 3)(_x((2, 4))), ValueError,
        r"feature mismatch: weight shape \(3, 5\).*x shape \(2, 4\)"),
    Bad("BatchNorm2d channel mismatch", lambda: nn.BatchNorm2d(4)(_x((2, 3, 4, 4))),
        ValueError, r"shape \(3,\), got shape \(4,\)"),
    Bad("BatchNorm2d one value per channel", lambda: nn.BatchNorm2d(4)(_x((1, 4, 1, 1))),
        ValueError, r"more than 1 value per channel"),
    Bad("BatchNorm2d empty batch (training)", lambda: nn.BatchNorm2d(4)(_x((0, 4, 3, 3))),
        ValueError, r"more than 1 value per channel, got x shape \(0, 4, 3, 3\)"),
    Bad("BatchNorm1d 4-D x", lambda: nn.BatchNorm1d(4)(_x()), ValueError, r"^x must be 2-D"),
    Bad("BatchNorm2d momentum 2.0", lambda: nn.BatchNorm2d(4, momentum=2.0)(_x()), ValueError,
        r"momentum must be in \[0.0, 1.0\], got 2.0"),
    Bad("Dropout p 1.0", lambda: nn.Dropout(1.0), ValueError, r"0 <= p < 1, got 1.0"),
    Bad("Dropout p -0.5", lambda: nn.Dropout(-0.5), ValueError, r"0 <= p < 1, got -0.5"),
    Bad("MaxPool2d 7 on 6x6", lambda: nn.MaxPool2d(7)(_x()), ValueError,
        r"larger than the padded input"),
    Bad("MaxPool2d kernel_size 0", lambda: nn.MaxPool2d(0)(_x()), ValueError,
        r"kernel_size must be >= 1"),
    Bad("AvgPool2d padding > kernel/2", lambda: nn.AvgPool2d(2, padding=2)(_x()), ValueError,
        r"at most half the kernel size"),
    Bad("Maxout pieces vs channels", lambda: nn.Maxout(4)(_x((2, 6, 3, 3))), ValueError,
        r"pieces=4 must divide the number of channels 6"),
    Bad("LeakyReLU slope 'a'", lambda: nn.LeakyReLU("a"), TypeError, r"negative_slope"),
    Bad("Conv2d backward before forward",
        lambda: nn.Conv2d(4, 6, 3).backward(_x((2, 6, 4, 4))), RuntimeError,
        r"Conv2d.backward\(\) called without a forward pass"),
    Bad("Conv2d backward grad shape", lambda: _fwd_bwd(nn.Conv2d(4, 6, 3), _x(),
                                                       _x((2, 6, 5, 4))), ValueError,
        r"grad_y must have shape \(2, 6, 4, 4\), got shape \(2, 6, 5, 4\)"),
    Bad("Conv2d backward grad dtype", lambda: _fwd_bwd(nn.Conv2d(4, 6, 3), _x(),
                                                       _x((2, 6, 4, 4), f64)), TypeError,
        r"grad_y float64"),
    Bad("Linear backward grad shape", lambda: _fwd_bwd(nn.Linear(5, 3), _X2, _x((2, 4))),
        ValueError, r"grad_y must have shape \(2, 3\), got shape \(2, 4\)"),
    Bad("Flatten backward grad shape", lambda: _fwd_bwd(nn.Flatten(), _x(), _x((2, 5))),
        ValueError, r"grad_y.*\(2, 144\).*\(2, 5\)"),
    Bad("MaxPool2d backward grad shape", lambda: _fwd_bwd(nn.MaxPool2d(2), _x(),
                                                          _x((2, 4, 2, 2))), ValueError,
        r"grad_y must have shape \(2, 4, 3, 3\), got shape \(2, 4, 2, 2\)"),
    Bad("BatchNorm2d backward grad shape", lambda: _fwd_bwd(nn.BatchNorm2d(4), _x(),
                                                            _x((2, 4, 6, 5))), ValueError,
        r"grad_y must have shape \(2, 4, 6, 6\)"),
    Bad("ReLU backward grad shape", lambda: _fwd_bwd(nn.ReLU(), _x(), _x((2, 6, 4, 4))),
        ValueError, r"grad_y must have shape \(2, 4, 6, 6\)"),
    Bad("CrossEntropyLoss target out of range",
        lambda: nn.CrossEntropyLoss()(_x((3, 4)), np.array([0, 4, 1])), ValueError,
        r"target value 4 is out of range for 4 classes"),
    Bad("CrossEntropyLoss backward before the loss", lambda: nn.CrossEntropyLoss().backward(),
        RuntimeError, r"before"),
    Bad("MSELoss shapes", lambda: nn.MSELoss()(_x((3,)), _x((4,))), ValueError,
        r"target must have shape \(3,\), got shape \(4,\)"),
    Bad("Sequential of a str", lambda: nn.Sequential(nn.ReLU(), "relu"), TypeError,
        r"layer 1 is a str"),
    Bad("Residual shape mismatch", lambda: nn.Residual(nn.Conv2d(4, 6, 3))(_x()), ValueError,
        r"\(2, 6, 4, 4\).*\(2, 4, 6, 6\)"),
    Bad("load_state_dict wrong shape", lambda: nn.Linear(5, 3).load_state_dict(
        {"weight": np.ones((3, 4), f32), "bias": np.ones(3, f32)}), ValueError,
        r"'weight' has shape \(3, 4\), the model expects \(3, 5\)"),
]


class Shape(NamedTuple):
    """A layer call on an empty batch: must return an array of ``shape``."""

    id: str
    call: Callable[[], object]
    shape: tuple


SHAPES: list[Shape] = [
    Shape("Conv2d N=0", lambda: nn.Conv2d(4, 6, 3)(_EMPTY_X), (0, 6, 4, 4)),
    Shape("Conv2d backward N=0", lambda: _fwd_bwd(nn.Conv2d(4, 6, 3), _EMPTY_X,
                                                  _x((0, 6, 4, 4))), (0, 4, 6, 6)),
    Shape("Sequential conv-relu-pool-flatten-linear N=0", lambda: nn.Sequential(
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(24, 3))(
        _EMPTY_X), (0, 3)),
    Shape("Flatten N=0", lambda: nn.Flatten()(_EMPTY_X), (0, 144)),
    # Not a layer, but the same kind of check: an argmax naming no pixel of its window (it
    # can't come from the forward) must not write out of bounds (run it under tools/sanitize.sh).
    Shape("max_pool2d_backward_argmax 255 everywhere", lambda: F.max_pool2d_backward_argmax(
        _x((2, 4, 3, 3)), np.full((2, 4, 3, 3), 255, np.uint8), (2, 4, 6, 6), 2),
        (2, 4, 6, 6)),
    Shape("max_pool2d_backward_argmax 255, overlapping 3x3/1 windows", lambda: (
        F.max_pool2d_backward_argmax(_x((2, 4, 6, 6)), np.full((2, 4, 6, 6), 255, np.uint8),
                                     (2, 4, 6, 6), 3, 1, 1)), (2, 4, 6, 6)),
    Shape("BatchNorm2d eval N=0", lambda: nn.BatchNorm2d(4).eval()(_EMPTY_X), (0, 4, 6, 6)),
]


ALL_CASES = [*BAD, *EMPTY, *SURVIVES, *SHAPES]



# --------------------------------------------------------------------------------------------
# Worker: runs the catalogue, one JSON line per case
# --------------------------------------------------------------------------------------------

def run_case(case) -> dict:
    """Outcome of one case: {"id", "ok": bool, "detail": str}."""
    try:
        if isinstance(case, Bad):
            try:
                case.call()
            except Exception as exc:  # the type is checked here: a wrong one fails the case
                msg = str(exc)
                if not isinstance(exc, case.error):
                    return {"ok": False, "detail": f"{type(exc).__name__} (wanted "
                            f"{case.error.__name__}): {msg}"}
                if not re.search(case.match, msg):
                    return {"ok": False, "detail": f"message {msg!r} does not match "
                            f"{case.match!r}"}
                return {"ok": True, "detail": f"{type(exc).__name__}: {msg}"}
            return {"ok": False, "detail": f"no exception (wanted {case.error.__name__})"}
        if isinstance(case, Shape):
            got = case.call()
            assert isinstance(got, np.ndarray) and got.shape == case.shape, (
                f"got {type(got).__name__} {getattr(got, 'shape', '')}, want {case.shape}")
        elif isinstance(case, Empty):
            _check_empty_like_reference(F, case.call)
        else:
            _check_survives(F, case)
        return {"ok": True, "detail": "ok"}
    except Exception as exc:  # any other exception type is a failure of the case
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}\n"
                f"{traceback.format_exc(limit=4)}"}


def worker(start: int) -> None:
    import warnings

    warnings.simplefilter("ignore")        # NaN/inf cases warn in NumPy; only outcomes matter
    isa = convcore.build_info()["isa"]
    for index in range(start, len(ALL_CASES)):
        print(json.dumps({"index": index, "isa": isa, **run_case(ALL_CASES[index])}), flush=True)


# --------------------------------------------------------------------------------------------
# Tests: one child per ISA runs everything; each case is its own test item
# --------------------------------------------------------------------------------------------

import pytest  # noqa: E402

from convcore import _kernels  # noqa: E402

_results: dict = {}


def _run_catalogue(isa: str, script: str = os.path.abspath(__file__),
                   n_cases: int = len(ALL_CASES)) -> list:
    """Per-case results from child processes; a child that dies marks its case a crash."""
    env = dict(os.environ, CONVCORE_ISA=isa, OMP_NUM_THREADS="2")
    results: list = [None] * n_cases
    start = 0
    while start < n_cases:
        proc = subprocess.run([sys.executable, script, "--worker", str(start)],
                              capture_output=True, text=True, env=env, timeout=300)
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                results[record["index"]] = record
                start = record["index"] + 1
        if proc.returncode != 0 and start < n_cases:
            code = proc.returncode
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            results[start] = {"ok": False, "detail": f"CRASH: the interpreter died ({how}) "
                              f"running this case; stderr tail:\n{proc.stderr[-3000:]}"}
            start += 1
        elif proc.returncode != 0 or start < n_cases:
            raise RuntimeError(f"catalogue worker failed: rc {proc.returncode}\n{proc.stderr}")
    return results


@pytest.fixture(scope="module", params=_kernels.available_isas())
def catalogue(request):
    if request.param not in _results:
        _results[request.param] = _run_catalogue(request.param)
    return request.param, _results[request.param]


def test_catalogue_is_big_enough():
    assert len(BAD) >= 40 and len(ALL_CASES) == len({c.id for c in ALL_CASES})


@pytest.mark.parametrize("index", range(len(ALL_CASES)), ids=[c.id for c in ALL_CASES])
def test_catalogue_case(catalogue, index):
    isa, results = catalogue
    record, case_id = results[index], ALL_CASES[index].id
    assert record["ok"], f"[{isa}] {case_id}: {record['detail']}"


def test_a_crash_fails_its_case_and_the_others_still_run(tmp_path):
    """The harness itself: a worker that segfaults on case 1 of 3."""
    script = tmp_path / "crashing_worker.py"
    script.write_text(
        "import json, os, signal, sys\n"
        "for i in range(int(sys.argv[2]), 3):\n"
        "    if i == 1:\n"
        "        os.kill(os.getpid(), signal.SIGSEGV)\n"
        "    print(json.dumps({'index': i, 'ok': True, 'detail': 'ok'}), flush=True)\n")
    results = _run_catalogue("scalar", str(script), 3)
    assert [r["ok"] for r in results] == [True, False, True]
    detail = results[1]["detail"]       # under ASan the SIGSEGV becomes an exit status of 1
    assert "CRASH" in detail and ("SEGV" in detail or "Segmentation fault" in detail)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]))
    else:
        sys.exit("usage: python tests/test_bad_inputs.py --worker START")
