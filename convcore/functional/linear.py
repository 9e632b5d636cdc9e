"""Fully connected layer: NumPy matmul (BLAS) in the input dtype, forward and backward.

Dimension legend: N batch, I in_features, O out_features.

    y = x @ W^T + b                      x (N, I), W (O, I), b (O,) -> y (N, O)

Same signatures and checks as ``convcore.reference.linear`` (which computes in float64; here
float32 stays float32, so results agree to float32 GEMM rounding, ~1e-6 relative). The bias is
added in place by NumPy's broadcast (one pass over y, still in cache after the GEMM): the
compiled bias_act kernel works on (N, C, L) planes with a bias per C and gains nothing on an
(N, O) row-broadcast.
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = ["linear", "linear_backward"]


def _check_linear(x, weight, bias=None) -> None:
    _checks.check_array("x", x, 2, "(N, in_features)")
    _checks.check_array("weight", weight, 2, "(out_features, in_features)")
    if bias is not None:
        _checks.check_array("bias", bias, 1, "(out_features,)")
    _checks.check_same_dtype(x=x, weight=weight, bias=bias)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"feature mismatch: weight shape {weight.shape} expects {weight.shape[1]} input "
            f"features, but x shape {x.shape} has {x.shape[1]}"
        )
    if bias is not None:
        _checks.check_shape("bias", bias, (weight.shape[0],))


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``y = x @ weight.T + bias``: x (N, I), weight (O, I), bias (O,) or None -> y (N, O)."""
    _check_linear(x, weight, bias)
    y = np.matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """Gradients of linear: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_y (N, O), x (N, I), weight (O, I) -> grad_x = dY @ W (N, I),
    grad_weight = dY^T @ x (O, I), grad_bias = sum_n dY (O,).
    """
    _check_linear(x, weight)
    _checks.check_array("grad_y", grad_y, 2, "(N, out_features)")
    _checks.check_same_dtype(grad_y=grad_y, x=x, weight=weight)
    _checks.check_shape("grad_y", grad_y, (x.shape[0], weight.shape[0]))
    grad_x = grad_y @ weight
    grad_w = grad_y.T @ x
    grad_b = grad_y.sum(axis=0)
    return grad_x, grad_w, grad_b
