"""2-D max, average and global average pooling, forward and backward, in plain NumPy.

Dimension legend: N batch, C channels, H x W input, P x Q output, R x S window (kernel).
Output size as for a convolution: P = floor((H + 2*ph - R) / sh) + 1. Padding may be at most
half the window (as PyTorch), so every window holds at least one real pixel.

Max pooling treats padding as -inf and picks the first maximum of a window in row-major
order (as PyTorch); its indices are flat positions ``h * W + w`` in each input H x W plane.
Average pooling divides by R*S (``count_include_pad=True``) or by the number of real pixels
in the window (``False``). Overlapping windows accumulate in the backward.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _checks

__all__ = [
    "max_pool2d", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
]


def _pad(x: np.ndarray, padding: tuple[int, int], value: float) -> np.ndarray:
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _taps(args: _checks.PoolArgs):
    """Yield, for each window position (r, s), the rows and columns of the padded input that
    it covers over all P x Q outputs (a strided slice)."""
    (p, q), (sh, sw) = args.out_hw, args.stride
    for r in range(args.kernel[0]):
        for s in range(args.kernel[1]):
            yield slice(r, r + (p - 1) * sh + 1, sh), slice(s, s + (q - 1) * sw + 1, sw)


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------

def _max_pool(x: np.ndarray, args: _checks.PoolArgs):
    """(y, indices) of max pooling: the first maximum of each window, NaN counting as max."""
    n, c, _, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (p, q) = args.kernel, args.stride, args.padding, args.out_hw
    xpad = _pad(x, args.padding, -np.inf)
    windows = sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    windows = windows.reshape(n, c, p, q, kh * kw)          # (N, C, P, Q, R*S), row-major
    arg = windows.argmax(axis=-1)                            # first maximum wins ties
    y = np.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]
    r, s = np.divmod(arg, kw)
    rows = np.arange(p)[:, None] * sh - ph + r              # input row of each winner
    cols = np.arange(q)[None, :] * sw - pw + s
    indices = (rows * w + cols).astype(np.int64)
    return y.astype(x.dtype), indices


def max_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0,
               return_indices: bool = False):
    """Max pooling: x (N, C, H, W) -> y (N, C, P, Q) [, indices (N, C, P, Q) int64].

    ``stride`` defaults to ``kernel_size``; padding counts as -inf. ``indices`` are
    PyTorch-style flat positions ``h * W + w`` into each input plane.
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("max_pool2d", x.shape, kernel_size, stride, padding)
    y, indices = _max_pool(x, args)
    return (y, indices) if _checks.check_bool("return_indices", return_indices) else y


def max_pool2d_backward(grad_y: np.ndarray, x: np.ndarray, kernel_size, stride=None,
                        padding=0, indices=None) -> np.ndarray:
    """Gradient of max pooling: each dY goes to its window's maximum (overlaps accumulate).

    grad_y (N, C, P, Q), x (N, C, H, W) -> grad_x (N, C, H, W). With ``indices`` (from
    ``max_pool2d(..., return_indices=True)``) they are used; else the argmax is recomputed.
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("max_pool2d", x.shape, kernel_size, stride, padding)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, P, Q)")
    _checks.check_same_dtype(grad_y=grad_y, x=x)
    n, c, h, w = x.shape
    _checks.check_shape("grad_y", grad_y, (n, c, *args.out_hw))
    if indices is None:
        _, indices = _max_pool(x, args)
    else:
        _checks.check_pool_indices(indices, grad_y.shape, h * w)
    # Offset each plane's indices so one bincount scatters (and sums) every gradient.
    plane_offset = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
    flat = (indices.astype(np.int64) + plane_offset).ravel()
    grad_x = np.bincount(flat, weights=grad_y.astype(np.float64).ravel(),
                         minlength=n * c * h * w)
    return grad_x.reshape(x.shape).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------

def _avg_divisor(x_shape, args: _checks.PoolArgs, count_include_pad: bool):
    """R*S, or (P, Q) counts of the real (non-padding) pixels in each window."""
    if count_include_pad:
        return float(args.kernel[0] * args.kernel[1])
    ones = _pad(np.ones((1, 1, *x_shape[2:])), args.padding, 0.0)
    count = np.zeros(args.out_hw)
    for rows, cols in _taps(args):
        count += ones[0, 0, rows, cols]
    return count


def avg_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling: x (N, C, H, W) -> y (N, C, P, Q), zero padding.

    y = (sum of the window) / (R*S if count_include_pad else number of real pixels in it).
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("avg_pool2d", x.shape, kernel_size, stride, padding)
    _checks.check_bool("count_include_pad", count_include_pad)
    xpad = _pad(x.astype(np.float64), args.padding, 0.0)
    total = np.zeros((*x.shape[:2], *args.out_hw))
    for rows, cols in _taps(args):
        total += xpad[:, :, rows, cols]
    return (total / _avg_divisor(x.shape, args, count_include_pad)).astype(x.dtype)


def avg_pool2d_backward(grad_y: np.ndarray, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad: bool = True) -> np.ndarray:
    """Gradient of average pooling: each dY / divisor is spread over its window.

    grad_y (N, C, P, Q), x_shape = (N, C, H, W) -> grad_x (N, C, H, W).
    """
    x_shape = _checks.check_shape_tuple("x_shape", x_shape, 4)
    args = _checks.check_pool2d("avg_pool2d", x_shape, kernel_size, stride, padding)
    _checks.check_bool("count_include_pad", count_include_pad)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, P, Q)")
    n, c, h, w = x_shape
    _checks.check_shape("grad_y", grad_y, (n, c, *args.out_hw))
    (ph, pw) = args.padding
    share = grad_y.astype(np.float64) / _avg_divisor(x_shape, args, count_include_pad)
    gxpad = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for rows, cols in _taps(args):
        gxpad[:, :, rows, cols] += share
    return gxpad[:, :, ph:ph + h, pw:pw + w].astype(grad_y.dtype)


# --------------------------------------------------------------------------------------------
# Global average pooling
# --------------------------------------------------------------------------------------------

def global_avg_pool2d(x: np.ndarray) -> np.ndarray:
    """Mean over each plane: x (N, C, H, W) -> y (N, C, 1, 1)."""
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    if x.shape[2] * x.shape[3] == 0:
        raise ValueError(f"global_avg_pool2d needs H*W > 0, got x shape {x.shape}")
    return x.astype(np.float64).mean(axis=(2, 3), keepdims=True).astype(x.dtype)


def global_avg_pool2d_backward(grad_y: np.ndarray, x_shape) -> np.ndarray:
    """grad_y (N, C, 1, 1), x_shape (N, C, H, W) -> grad_x = dY / (H*W) broadcast to x_shape."""
    x_shape = _checks.check_shape_tuple("x_shape", x_shape, 4)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, 1, 1)")
    _checks.check_shape("grad_y", grad_y, (*x_shape[:2], 1, 1))
    if x_shape[2] * x_shape[3] == 0:
        raise ValueError(f"global_avg_pool2d needs H*W > 0, got x_shape {x_shape}")
    share = grad_y.astype(np.float64) / (x_shape[2] * x_shape[3])
    return np.broadcast_to(share, x_shape).astype(grad_y.dtype)
