"""Softmax, log-softmax and the losses (cross-entropy, MSE), forward and backward.

    softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m)       m = max_j x_j (no overflow)
    log_softmax(x)_i = x_i - m - log sum_j exp(x_j - m)
    cross_entropy(z, t) = -1/N sum_n log_softmax(z_n)[t_n]     z (N, C), t (N,) int
        d/dz = (softmax(z) - onehot(t)) / N
    mse_loss(a, b) = 1/M sum (a - b)^2,   d/da = 2 (a - b) / M  (M = a.size)

Backwards take the forward OUTPUT y: softmax: dx = y * (dy - sum(dy * y)),
log_softmax: dx = dy - exp(y) * sum(dy). Losses return Python floats (computed in float64).
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward",
]


def _log_softmax64(x: np.ndarray, axis: int) -> np.ndarray:
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``; same shape as x."""
    _checks.check_array("x", x)
    axis = _checks.check_axis(axis, x.ndim)
    if x.size == 0:
        return x.copy()
    return np.exp(_log_softmax64(x, axis)).astype(x.dtype)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log-softmax along ``axis``; same shape as x."""
    _checks.check_array("x", x)
    axis = _checks.check_axis(axis, x.ndim)
    if x.size == 0:
        return x.copy()
    return _log_softmax64(x, axis).astype(x.dtype)


def _check_softmax_backward(grad_y, y, axis) -> int:
    _checks.check_array("y", y)
    _checks.check_array("grad_y", grad_y)
    _checks.check_same_dtype(grad_y=grad_y, y=y)
    _checks.check_shape("grad_y", grad_y, y.shape)
    return _checks.check_axis(axis, y.ndim)


def softmax_backward(grad_y: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """grad_x = y * (grad_y - sum(grad_y * y, axis)), y the softmax output."""
    axis = _check_softmax_backward(grad_y, y, axis)
    dy, y64 = grad_y.astype(np.float64), y.astype(np.float64)
    return (y64 * (dy - (dy * y64).sum(axis=axis, keepdims=True))).astype(y.dtype)


def log_softmax_backward(grad_y: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """grad_x = grad_y - exp(y) * sum(grad_y, axis), y the log_softmax output."""
    axis = _check_softmax_backward(grad_y, y, axis)
    dy = grad_y.astype(np.float64)
    grad = dy - np.exp(y.astype(np.float64)) * dy.sum(axis=axis, keepdims=True)
    return grad.astype(y.dtype)


def cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    """Mean softmax cross-entropy: logits (N, C), target (N,) int class indices -> float."""
    _checks.check_array("logits", logits, 2, "(N, C)")
    _checks.check_class_target(target, logits)
    log_p = _log_softmax64(logits, axis=1)
    return float(-log_p[np.arange(logits.shape[0]), target].mean())


def cross_entropy_backward(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross-entropy: (softmax(logits) - onehot(target)) / N, (N, C)."""
    _checks.check_array("logits", logits, 2, "(N, C)")
    _checks.check_class_target(target, logits)
    n = logits.shape[0]
    grad = np.exp(_log_softmax64(logits, axis=1))
    grad[np.arange(n), target] -= 1.0
    return (grad / n).astype(logits.dtype)


def _check_mse(pred, target) -> None:
    _checks.check_array("pred", pred)
    _checks.check_array("target", target)
    _checks.check_same_dtype(pred=pred, target=target)
    _checks.check_shape("target", target, pred.shape)
    if pred.size == 0:
        raise ValueError(f"mse_loss of an empty array is undefined (pred shape {pred.shape})")


def mse_loss(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over all elements -> float. pred and target have one shape."""
    _check_mse(pred, target)
    diff = pred.astype(np.float64) - target.astype(np.float64)
    return float(np.mean(diff * diff))


def mse_loss_backward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gradient of the mean squared error with respect to pred: 2 (pred - target) / pred.size."""
    _check_mse(pred, target)
    diff = pred.astype(np.float64) - target.astype(np.float64)
    return (2.0 * diff / pred.size).astype(pred.dtype)
