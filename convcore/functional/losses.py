"""Softmax, log-softmax and the losses (cross-entropy, MSE), compiled (csrc/pointwise/softmax.c).

Same signatures, checks and results as ``convcore.reference.losses``. Softmax runs along the
last axis in C (another axis is moved there, one copy); every exponential is of x - max <= 0
(stable log-sum-exp), row sums in float64. Backwards take the forward OUTPUT y. Losses return
Python floats, summed in float64 in a fixed order (the same bits for any thread count).

    softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m)       m = max_j x_j
    log_softmax(x)_i = x_i - m - log sum_j exp(x_j - m)
    cross_entropy(z, t) = -1/N sum_n log_softmax(z_n)[t_n]     z (N, C), t (N,) int
    mse_loss(a, b) = 1/M sum (a - b)^2                          (M = a.size)
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _kernels

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward",
]


def _rows(a: np.ndarray, axis: int) -> np.ndarray:
    """a with ``axis`` moved last, as a C-contiguous (rows, cols) array."""
    moved = np.moveaxis(a, axis, -1)
    return np.require(moved, requirements="CA").reshape(-1, a.shape[axis])


def _unrows(out: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    moved_shape = tuple(np.delete(np.array(shape), axis)) + (shape[axis],)
    result = np.moveaxis(out.reshape(moved_shape), -1, axis)
    return result if axis == len(shape) - 1 else np.ascontiguousarray(result)


def _softmax(x, axis, take_log: bool) -> np.ndarray:
    _checks.check_array("x", x)
    axis = _checks.check_axis(axis, x.ndim)
    if x.size == 0:
        return x.copy()
    rows = _rows(x, axis)
    out = np.empty(rows.shape, x.dtype)
    _kernels.softmax_rows(out, rows, take_log)
    return _unrows(out, x.shape, axis)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``; same shape as x."""
    return _softmax(x, axis, False)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax along ``axis``; same shape as x."""
    return _softmax(x, axis, True)


def _softmax_backward(grad_y, y, axis, take_log: bool) -> np.ndarray:
    _checks.check_array("y", y)
    _checks.check_array("grad_y", grad_y)
    _checks.check_same_dtype(grad_y=grad_y, y=y)
    _checks.check_shape("grad_y", grad_y, y.shape)
    axis = _checks.check_axis(axis, y.ndim)
    if y.size == 0:
        return np.empty(y.shape, y.dtype)
    y_rows = _rows(y, axis)
    out = np.empty(y_rows.shape, y.dtype)
    _kernels.softmax_backward_rows(out, _rows(grad_y, axis), y_rows, take_log)
    return _unrows(out, y.shape, axis)


def softmax_backward(grad_y: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """grad_x = y * (grad_y - sum(grad_y * y, axis)), y the softmax output."""
    return _softmax_backward(grad_y, y, axis, False)


def log_softmax_backward(grad_y: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """grad_x = grad_y - exp(y) * sum(grad_y, axis), y the log_softmax output."""
    return _softmax_backward(grad_y, y, axis, True)


def _check_cross_entropy(logits, target):
    _checks.check_array("logits", logits, 2, "(N, C)")
    _checks.check_class_target(target, logits)
    return (np.require(logits, requirements="CA"),
            np.require(target, np.int64, requirements="CA"))


def cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    """Mean softmax cross-entropy: logits (N, C), target (N,) int class indices -> float."""
    logits, target = _check_cross_entropy(logits, target)
    return float(_kernels.cross_entropy(np.empty((0, 0), logits.dtype), logits, target))


def cross_entropy_backward(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy: (softmax(logits) - onehot(target)) / N, (N, C)."""
    logits, target = _check_cross_entropy(logits, target)
    grad = np.empty(logits.shape, logits.dtype)
    _kernels.cross_entropy(grad, logits, target)
    return grad


def _check_mse(pred, target) -> None:
    _checks.check_array("pred", pred)
    _checks.check_array("target", target)
    _checks.check_same_dtype(pred=pred, target=target)
    _checks.check_shape("target", target, pred.shape)
    if pred.size == 0:
        raise ValueError(f"mse_loss of an empty array is undefined (pred shape {pred.shape})")


def _flat(a: np.ndarray) -> np.ndarray:
    return np.require(a, requirements="CA").reshape(-1)


def mse_loss(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over all elements -> float. pred and target have one shape."""
    _check_mse(pred, target)
    return float(_kernels.sum_sq_diff(_flat(pred), _flat(target)) / pred.size)


def mse_loss_backward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gradient of the mean squared error with respect to pred: 2 (pred - target) / pred.size."""
    _check_mse(pred, target)
    grad = np.empty(pred.shape, pred.dtype)
    _kernels.pointwise(_kernels.POINTWISE_OPS["scaled_diff"], grad.reshape(-1), _flat(pred),
                       _flat(target), 2.0 / pred.size)
    return grad
