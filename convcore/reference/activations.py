"""Pointwise activations, maxout and dropout, forward and backward, in plain NumPy.

Backward conventions (as PyTorch's ``*_backward`` ops): relu, leaky_relu and elu take the
forward INPUT x; sigmoid and tanh take the forward OUTPUT y.

    relu(x)       = max(x, 0)                     d/dx = [x > 0]
    leaky_relu(x) = x if x > 0 else a*x           d/dx = 1 if x > 0 else a
    elu(x)        = x if x > 0 else a*(e^x - 1)   d/dx = 1 if x > 0 else a*e^x
    sigmoid(x)    = 1 / (1 + e^-x)                d/dx = y * (1 - y)
    tanh(x)                                       d/dx = 1 - y^2
    maxout(x, k)[:, j] = max_{i < k} x[:, j*k + i]   (first maximum wins ties)
    dropout(x, p) = x * mask / (1 - p),  mask ~ Bernoulli(1 - p)  (inverted dropout)
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "elu", "elu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "maxout", "maxout_backward",
    "dropout", "dropout_backward",
]


def _check_grad(grad_y, name: str, a: np.ndarray) -> None:
    _checks.check_array("grad_y", grad_y)
    _checks.check_same_dtype(grad_y=grad_y, **{name: a})
    _checks.check_shape("grad_y", grad_y, a.shape)


def _check_scalar(name: str, value) -> float:
    """A finite real hyper-parameter (negative_slope, alpha)."""
    return _checks.check_float(name, value, -np.inf, np.inf)


# --- ReLU family ------------------------------------------------------------------------------

def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), any shape."""
    _checks.check_array("x", x)
    return np.maximum(x, 0).astype(x.dtype)


def relu_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """grad_x = grad_y where x > 0, else 0 (x is the forward input)."""
    _checks.check_array("x", x)
    _check_grad(grad_y, "x", x)
    return np.where(x > 0, grad_y, 0).astype(x.dtype)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """x if x > 0 else negative_slope * x, any shape."""
    _checks.check_array("x", x)
    a = _check_scalar("negative_slope", negative_slope)
    return np.where(x > 0, x, x * a).astype(x.dtype)


def leaky_relu_backward(grad_y: np.ndarray, x: np.ndarray,
                        negative_slope: float = 0.01) -> np.ndarray:
    """grad_x = grad_y if x > 0 else negative_slope * grad_y (x is the forward input)."""
    _checks.check_array("x", x)
    _check_grad(grad_y, "x", x)
    a = _check_scalar("negative_slope", negative_slope)
    return np.where(x > 0, grad_y, grad_y * a).astype(x.dtype)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x if x > 0 else alpha * (exp(x) - 1), any shape."""
    _checks.check_array("x", x)
    a = _check_scalar("alpha", alpha)
    x64 = x.astype(np.float64)
    return np.where(x64 > 0, x64, a * np.expm1(np.minimum(x64, 0))).astype(x.dtype)


def elu_backward(grad_y: np.ndarray, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """grad_x = grad_y if x > 0 else grad_y * alpha * exp(x) (x is the forward input)."""
    _checks.check_array("x", x)
    _check_grad(grad_y, "x", x)
    a = _check_scalar("alpha", alpha)
    x64 = x.astype(np.float64)
    slope = np.where(x64 > 0, 1.0, a * np.exp(np.minimum(x64, 0)))
    return (grad_y * slope).astype(x.dtype)


# --- Sigmoid and tanh -------------------------------------------------------------------------

def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    _checks.check_array("x", x)
    x64 = x.astype(np.float64)
    e = np.exp(-np.abs(x64))                     # in (0, 1]: never overflows
    return np.where(x64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def sigmoid_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad_x = grad_y * y * (1 - y), y the forward output."""
    _checks.check_array("y", y)
    _check_grad(grad_y, "y", y)
    y64 = y.astype(np.float64)
    return (grad_y * y64 * (1.0 - y64)).astype(y.dtype)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, any shape."""
    _checks.check_array("x", x)
    return np.tanh(x.astype(np.float64)).astype(x.dtype)


def tanh_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray:
    """grad_x = grad_y * (1 - y^2), y the forward output."""
    _checks.check_array("y", y)
    _check_grad(grad_y, "y", y)
    y64 = y.astype(np.float64)
    return (grad_y * (1.0 - y64 * y64)).astype(y.dtype)


# --- Maxout -----------------------------------------------------------------------------------

def _maxout_groups(x, pieces) -> np.ndarray:
    """x (N, C, ...) viewed as (N, C // pieces, pieces, ...)."""
    _checks.check_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must be at least 2-D (N, C, ...), got shape {x.shape}")
    pieces = _checks.check_int("pieces", pieces, 1)
    if x.shape[1] % pieces:
        raise ValueError(
            f"pieces={pieces} must divide the number of channels {x.shape[1]} (x shape {x.shape})"
        )
    return x.reshape(x.shape[0], x.shape[1] // pieces, pieces, *x.shape[2:])


def maxout(x: np.ndarray, pieces: int) -> np.ndarray:
    """Max over groups of ``pieces`` consecutive channels: x (N, C, ...) -> (N, C/pieces, ...)."""
    return _maxout_groups(x, pieces).max(axis=2)


def maxout_backward(grad_y: np.ndarray, x: np.ndarray, pieces: int) -> np.ndarray:
    """Each dY goes to the first maximum of its group: grad_y (N, C/pieces, ...) -> like x."""
    groups = _maxout_groups(x, pieces)
    _checks.check_array("grad_y", grad_y)
    _checks.check_same_dtype(grad_y=grad_y, x=x)
    expected = groups.shape[:2] + groups.shape[3:]
    _checks.check_shape("grad_y", grad_y, expected)
    winner = groups.argmax(axis=2)                                # first maximum wins
    grad = np.zeros(groups.shape, dtype=x.dtype)
    np.put_along_axis(grad, winner[:, :, None], grad_y[:, :, None], axis=2)
    return grad.reshape(x.shape)


# --- Dropout ----------------------------------------------------------------------------------

def dropout(x: np.ndarray, p: float, training: bool = True, rng=None):
    """Inverted dropout: returns ``(y, mask)`` with mask a bool keep-mask of x.shape.

    Each element is kept with probability 1 - p (``mask = rng.random(x.shape) >= p``) and
    scaled by 1 / (1 - p), so E[y] = x. In eval mode or with p == 0, y is a copy of x and the
    mask is all True. ``rng``: None, an int seed or a ``np.random.Generator``; the same
    generator state gives the same mask. 0 <= p < 1.
    """
    _checks.check_array("x", x)
    p = _checks.check_float("p", p, 0.0, 1.0, high_inclusive=False)
    if not _checks.check_bool("training", training) or p == 0.0:
        return x.copy(), np.ones(x.shape, dtype=bool)
    mask = _checks.check_rng(rng).random(x.shape) >= p
    y = np.where(mask, x.astype(np.float64) / (1.0 - p), 0.0)
    return y.astype(x.dtype), mask


def dropout_backward(grad_y: np.ndarray, mask: np.ndarray, p: float) -> np.ndarray:
    """grad_x = grad_y * mask / (1 - p). (In eval mode dropout is the identity: pass p=0.)"""
    _checks.check_array("grad_y", grad_y)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"mask must be a bool numpy.ndarray, got {got}")
    _checks.check_shape("mask", mask, grad_y.shape)
    p = _checks.check_float("p", p, 0.0, 1.0, high_inclusive=False)
    return np.where(mask, grad_y.astype(np.float64) / (1.0 - p), 0.0).astype(grad_y.dtype)
