"""2-D convolution (cross-correlation, as PyTorch), forward and backward, in plain NumPy.

Dimension legend: N batch, C in-channels, K out-channels, G groups (Cg = C/G, Kg = K/G),
H x W input, P x Q output, R x S filter.

The convolution is written as a sum over the R*S filter taps. For tap (r, s) the input pixels
that meet it form a strided slice of the padded input,

    X_rs[n, c, p, q] = Xpad[n, c, p*sh + r*dh, q*sw + s*dw]          (N, C, P, Q)

and each tap contributes one (grouped) matrix product over the channels:

    Y[n, g, k, pq] += W[g, k, c, r, s] @ X_rs[n, g, c, pq]

The backward reuses the same slices: grad_x scatters W^T @ dY back into them (overlapping
windows accumulate), grad_w correlates dY with them. Everything is computed in float64 and
cast back to the input dtype, so this module is an accurate oracle for both dtypes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import _checks
from .._checks import conv_output_size

__all__ = ["conv2d", "conv2d_backward", "conv_output_size"]


def _tap_slices(r: int, s: int, out_hw, stride, dilation) -> tuple[slice, slice]:
    """Rows and columns of the padded input met by filter tap (r, s) over all P x Q outputs."""
    (p, q), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (slice(r * dh, r * dh + (p - 1) * sh + 1, sh),
            slice(s * dw, s * dw + (q - 1) * sw + 1, sw))


def _pad(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
           stride=1, padding=0, dilation=1, groups: int = 1,
           activation: str | None = None) -> np.ndarray:
    """2-D convolution: ``y = conv(x, weight) + bias``, optionally followed by ReLU.

    Shapes: x (N, C, H, W), weight (K, C/groups, R, S), bias (K,) or None -> y (N, K, P, Q),
    with P = floor((H + 2*ph - dh*(R-1) - 1) / sh) + 1 and likewise Q.
    ``stride``, ``padding``, ``dilation``: int or (h, w) pair. ``groups`` splits the channels
    into independent convolutions (groups == C == K is depthwise). ``activation``: None or
    "relu" (fused bias + ReLU epilogue).
    """
    args = _checks.check_conv2d(x, weight, bias, stride, padding, dilation, groups)
    _checks.check_activation(activation)
    n, c, _, _ = x.shape
    k, cg, r_taps, s_taps = weight.shape
    g, (p, q) = args.groups, args.out_hw

    xpad = _pad(x.astype(np.float64), args.padding)
    w = weight.astype(np.float64).reshape(g, k // g, cg, r_taps, s_taps)
    y = np.zeros((n, g, k // g, p * q))
    for r in range(r_taps):
        for s in range(s_taps):
            rows, cols = _tap_slices(r, s, args.out_hw, args.stride, args.dilation)
            x_rs = xpad[:, :, rows, cols].reshape(n, g, cg, p * q)
            y += w[:, :, :, r, s] @ x_rs          # (G, Kg, Cg) @ (N, G, Cg, PQ)
    y = y.reshape(n, k, p, q)
    if bias is not None:
        y += bias.astype(np.float64)[:, None, None]
    if activation == "relu":
        np.maximum(y, 0.0, out=y)
    return y.astype(x.dtype)


def conv2d_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray, stride=1,
                    padding=0, dilation=1, groups: int = 1,
                    needs: Sequence[str] = ("x", "weight", "bias")):
    """Gradients of conv2d: returns ``(grad_x, grad_weight, grad_bias)``.

    Shapes: grad_y (N, K, P, Q), x (N, C, H, W), weight (K, C/groups, R, S) ->
    grad_x like x, grad_weight like weight, grad_bias (K,). ``needs`` lists the gradients to
    compute (a subset of "x", "weight", "bias"); the others are returned as None.
    For a fused ReLU the caller masks grad_y with (y > 0) first.

        grad_Xpad[n, c, p*sh + r*dh, q*sw + s*dw] += sum_k W[k, c, r, s] * dY[n, k, p, q]
                                        (for every tap r, s; then the padding is cropped off)
        grad_w[k, c, r, s] = sum_{n, p, q} dY[n, k, p, q] * X_rs[n, c, p, q]
        grad_bias[k]       = sum_{n, p, q} dY[n, k, p, q]
    (k and c run within one group.)
    """
    args, needs = _checks.check_conv2d_backward(grad_y, x, weight, stride, padding, dilation,
                                                groups, needs)
    n, c, h, w_in = x.shape
    k, cg, r_taps, s_taps = weight.shape
    g, (p, q) = args.groups, args.out_hw
    (ph, pw) = args.padding

    dy = grad_y.astype(np.float64).reshape(n, g, k // g, p * q)
    w = weight.astype(np.float64).reshape(g, k // g, cg, r_taps, s_taps)
    xpad = _pad(x.astype(np.float64), args.padding) if "weight" in needs else None
    gxpad = np.zeros((n, c, h + 2 * ph, w_in + 2 * pw)) if "x" in needs else None
    gw = np.zeros((g, k // g, cg, r_taps, s_taps)) if "weight" in needs else None

    for r in range(r_taps):
        for s in range(s_taps):
            rows, cols = _tap_slices(r, s, args.out_hw, args.stride, args.dilation)
            if gxpad is not None:
                # (G, Cg, Kg) @ (N, G, Kg, PQ): one tap's slice has no repeated pixels.
                dx_rs = np.swapaxes(w[:, :, :, r, s], 1, 2) @ dy
                gxpad[:, :, rows, cols] += dx_rs.reshape(n, c, p, q)
            if gw is not None:
                x_rs = xpad[:, :, rows, cols].reshape(n, g, cg, p * q)
                gw[:, :, :, r, s] = (dy @ np.swapaxes(x_rs, 2, 3)).sum(axis=0)  # (G, Kg, Cg)

    grad_x = grad_w = grad_b = None
    if gxpad is not None:
        grad_x = gxpad[:, :, ph:ph + h, pw:pw + w_in].astype(x.dtype)
    if gw is not None:
        grad_w = gw.reshape(weight.shape).astype(x.dtype)
    if "bias" in needs:
        grad_b = dy.sum(axis=(0, 3)).reshape(k).astype(x.dtype)
    return grad_x, grad_w, grad_b
