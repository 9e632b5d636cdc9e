"""Fully connected layer on the conv engine's 1x1 GEMM, forward and backward.

Dimension legend: N batch, I in_features, O out_features.

    y = x @ W^T + b                      x (N, I), W (O, I), b (O,) -> y (N, O)

Each product is handed to the compiled 1x1 convolution, which multiplies a "weight" (K, C) by an
"image" of C channels x L pixels laid out as rows: y (N, O) is x (N, I) times W^T (I, O) with x
as the weight and W^T as a one-row image, so the result lands in y's own layout. Using our engine
instead of NumPy's BLAS keeps one thread pool: BLAS threads spin for tens of ms after each call
and steal the cores from the next conv. Same signatures and checks as
``convcore.reference.linear`` (float32 stays float32: agreement to float32 GEMM rounding).
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from .._config import _kernels

__all__ = ["linear", "linear_backward"]


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (M, K) @ b (K, L) -> (M, L) as a 1x1 convolution of the image b (K channels, 1 x L)
    by the weight a (M, K, 1, 1)."""
    m, l = a.shape[0], b.shape[1]
    out = np.empty((1, m, 1, l), dtype=a.dtype)
    if out.size and a.shape[1]:
        # C-contiguous AND aligned: the kernels read whole floats (np.ascontiguousarray keeps
        # an unaligned contiguous view as it is).
        _kernels.conv2d_forward(out, np.require(b, requirements="CA")[None, :, None, :],
                                np.require(a, requirements="CA")[:, :, None, None], None,
                                (1, 1), (0, 0), (1, 1), 1, 0)
    else:
        out.fill(0)
    return out.reshape(m, l)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``y = x @ weight.T + bias``: x (N, I), weight (O, I), bias (O,) or None -> y (N, O)."""
    _checks.check_linear(x, weight, bias)
    y = _matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """Gradients of linear: returns ``(grad_x, grad_weight, grad_bias)``.

    grad_y (N, O), x (N, I), weight (O, I) -> grad_x = dY @ W (N, I),
    grad_weight = dY^T @ x (O, I), grad_bias = sum_n dY (O,).
    """
    _checks.check_linear(x, weight)
    _checks.check_array("grad_y", grad_y, 2, "(N, out_features)")
    _checks.check_same_dtype(grad_y=grad_y, x=x, weight=weight)
    _checks.check_shape("grad_y", grad_y, (x.shape[0], weight.shape[0]))
    grad_x = _matmul(grad_y, weight)
    grad_w = _matmul(grad_y.T, x)
    grad_b = grad_y.sum(axis=0)
    return grad_x, grad_w, grad_b
