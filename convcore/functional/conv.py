"""2-D convolution on the compiled implicit-GEMM engine (csrc/conv, csrc/gemm).

Dimension legend: N batch, C in-channels, K out-channels, G groups, H x W input, P x Q output,
R x S filter. Same functions, signatures and errors as ``convcore.reference.conv`` (the checks
are shared: ``convcore._checks``); the results agree with it to rounding (float64 ~1e-12).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import _checks, _kernels
from .._checks import conv_output_size
from ..reference import conv as _reference

__all__ = ["conv2d", "conv2d_backward", "conv_output_size"]

_ACTIVATIONS = {None: 0, "relu": 1}


def _kernel_input(a: np.ndarray) -> np.ndarray:
    """``a`` itself if C-contiguous and aligned, else a copy; never written to."""
    return np.require(a, requirements=("C_CONTIGUOUS", "ALIGNED"))


def conv2d(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None, stride=1,
           padding=0, dilation=1, groups: int = 1,
           activation: Optional[str] = None) -> np.ndarray:
    """2-D convolution ``y = act(conv(x, weight) + bias)`` (cross-correlation, as PyTorch).

    Shapes: x (N, C, H, W), weight (K, C/groups, R, S), bias (K,) or None -> y (N, K, P, Q),
    P = floor((H + 2*ph - dh*(R-1) - 1) / sh) + 1, likewise Q. ``stride``, ``padding``,
    ``dilation``: int or (h, w) pair; ``groups`` divides C and K (groups == C == K: depthwise).
    ``activation``: None or "relu", applied with the bias in the GEMM's last store (fused).
    float32 or float64; inputs of any layout are accepted and never modified.
    """
    args = _checks.check_conv2d(x, weight, bias, stride, padding, dilation, groups)
    _checks.check_activation(activation)
    if x.size == 0 or weight.size == 0:  # no GEMM to run: at most a bias, done in NumPy
        return _reference.conv2d(x, weight, bias, stride, padding, dilation, groups, activation)
    y = np.empty((x.shape[0], weight.shape[0], *args.out_hw), dtype=x.dtype)
    _kernels.conv2d_forward(y, _kernel_input(x), _kernel_input(weight),
                            None if bias is None else _kernel_input(bias), args.stride,
                            args.padding, args.dilation, args.groups, _ACTIVATIONS[activation])
    return y


def conv2d_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray, stride=1,
                    padding=0, dilation=1, groups: int = 1,
                    needs: Sequence[str] = ("x", "weight", "bias")):
    """Gradients of conv2d: ``(grad_x, grad_weight, grad_bias)``, None for one not in ``needs``.

    Shapes: grad_y (N, K, P, Q), x (N, C, H, W), weight (K, C/groups, R, S) -> grad_x like x,
    grad_weight like weight, grad_bias (K,). For a fused ReLU the caller masks grad_y with
    (y > 0) first. The results are bit-identical for any thread count (fixed summation order).
    """
    args, needs = _checks.check_conv2d_backward(grad_y, x, weight, stride, padding, dilation,
                                                groups, needs)
    if x.size == 0 or weight.size == 0 or grad_y.size == 0:
        return _reference.conv2d_backward(grad_y, x, weight, stride, padding, dilation, groups,
                                          tuple(needs))
    dtype = x.dtype
    grad_x = np.empty(x.shape, dtype) if "x" in needs else None
    grad_w = np.empty(weight.shape, dtype) if "weight" in needs else None
    grad_b = np.empty(weight.shape[0], dtype) if "bias" in needs else None
    # Name the specialisation: with grad_x None, Cython's fused dispatch can't infer it.
    kernel = _kernels.conv2d_backward["double" if dtype == np.float64 else "float"]
    kernel(grad_x, grad_w, grad_b, _kernel_input(grad_y), _kernel_input(x),
           _kernel_input(weight), args.stride, args.padding, args.dilation,
           args.groups)
    return grad_x, grad_w, grad_b
