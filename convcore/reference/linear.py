"""Fully connected layer, forward and backward, in plain NumPy.

Dimension legend: N batch, I in_features, O out_features.

    y = x @ W^T + b                      x (N, I), W (O, I), b (O,) -> y (N, O)

Computed in float64 and cast back to the input dtype.
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = ["linear", "linear_backward"]


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``y = x @ weight.T + bias``: x (N, I), weight (O, I), bias (O,) or None -> y (N, O)."""
    _checks.check_linear(x, weight, bias)
    y = x.astype(np.float64) @ weight.astype(np.float64).T
    if bias is not None:
        y += bias.astype(np.float64)
    return y.astype(x.dtype)


def linear_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """Gradients of linear: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_y (N, O), x (N, I), weight (O, I) -> grad_x = dY @ W (N, I),
    grad_weight = dY^T @ x (O, I), grad_bias = sum_n dY (O,).
    """
    _checks.check_linear(x, weight)
    _checks.check_array("grad_y", grad_y, 2, "(N, out_features)")
    _checks.check_same_dtype(grad_y=grad_y, x=x, weight=weight)
    _checks.check_shape("grad_y", grad_y, (x.shape[0], weight.shape[0]))
    dy = grad_y.astype(np.float64)
    grad_x = dy @ weight.astype(np.float64)
    grad_w = dy.T @ x.astype(np.float64)
    grad_b = dy.sum(axis=0)
    return grad_x.astype(x.dtype), grad_w.astype(x.dtype), grad_b.astype(x.dtype)
