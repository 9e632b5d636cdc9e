"""Pooling, compiled (csrc/pool/): max, average and global average pooling with backward.

Dimension legend: N batch, C channels, H x W input, P x Q output, R x S window (kernel).
Same signatures, checks and results as ``convcore.reference.pool`` (the oracle); float32 and
float64; non-contiguous or read-only inputs are copied once, never modified.

Max pooling keeps, for its own backward, a compact *argmax*: the offset ``r * S + s`` of the
winning position inside its window (row-major, relative to the window's top-left corner, which
may lie in the padding), as ``uint8`` when ``R * S <= 256`` and ``int32`` otherwise. That is 1/8
of the bytes of PyTorch-style int64 indices, and for non-overlapping windows (stride == kernel,
no padding: the usual 2x2/2) the backward writes every gradient value once from it::

    y, argmax = max_pool2d_with_argmax(x, 2)                  # forward, keep argmax
    grad_x = max_pool2d_backward_argmax(grad_y, argmax, x.shape, 2)

These two are convcore extensions (also importable from ``convcore.functional``); the API.md
ops (``max_pool2d``, ``max_pool2d_backward`` with optional torch-style ``indices``) keep the
reference's exact signatures.
``max_pool2d(..., return_indices=True)`` converts it to PyTorch's flat ``h * W + w`` int64
indices into each H x W plane. Ties go to the first position of the window; NaN counts as the
maximum (the first NaN wins); padding is -inf.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _kernels

# The API.md ops. max_pool2d_with_argmax / max_pool2d_backward_argmax are extras, exported by
# name from convcore.functional (not in __all__: the reference has no equivalent).
__all__ = [
    "max_pool2d", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
]

_NO_ARGMAX = np.empty(0, np.uint8)


def _contiguous(a: np.ndarray) -> np.ndarray:
    """C-contiguous and aligned (a copy only when needed; the caller's array is never written)."""
    return np.require(a, requirements="CA")


def _argmax_dtype(kernel: tuple[int, int]) -> np.dtype:
    return np.dtype(np.uint8) if kernel[0] * kernel[1] <= 256 else np.dtype(np.int32)


def _raw(argmax: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous argmax array, as the kernels take it."""
    return argmax.reshape(-1).view(np.uint8)


# The forward kernels keep one padded input row per thread, W + 2*pw + S + 2*(Q + S) values.
# Only an absurd window (millions of columns) makes that unallocatable; refuse it up front.
_MAX_ROW_VALUES = 1 << 26


def _check_row_scratch(op: str, x_shape: tuple, args: _checks.PoolArgs) -> None:
    (_, s), (_, pw), (_, q) = args.kernel, args.padding, args.out_hw
    values = x_shape[3] + 2 * pw + s + 2 * (q + s)
    if values > _MAX_ROW_VALUES:
        raise MemoryError(f"{op}: a padded row of {values} values (x shape {tuple(x_shape)}, "
                          f"kernel_size {args.kernel}, padding {args.padding}) is more than "
                          f"the kernel's row scratch allows ({_MAX_ROW_VALUES})")


def _max_pool(x: np.ndarray, args: _checks.PoolArgs, with_argmax: bool):
    _check_row_scratch("max_pool2d", x.shape, args)
    n, c = x.shape[:2]
    y = np.empty((n, c, *args.out_hw), x.dtype)
    argmax = np.empty(y.shape, _argmax_dtype(args.kernel)) if with_argmax else None
    if y.size:
        _kernels.max_pool2d(y, _raw(argmax) if with_argmax else _NO_ARGMAX,
                            argmax.itemsize if with_argmax else 0, _contiguous(x),
                            args.kernel, args.stride, args.padding)
    return y, argmax


def max_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0,
               return_indices: bool = False):
    """Max pooling: x (N, C, H, W) -> y (N, C, P, Q) [, indices (N, C, P, Q) int64].

    ``stride`` defaults to ``kernel_size``; padding counts as -inf. ``indices`` are
    PyTorch-style flat positions ``h * W + w`` into each input plane. (For training, prefer
    ``max_pool2d_with_argmax``: its compact argmax is 8x smaller.)
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("max_pool2d", x.shape, kernel_size, stride, padding)
    return_indices = _checks.check_bool("return_indices", return_indices)
    y, argmax = _max_pool(x, args, with_argmax=return_indices)
    if not return_indices:
        return y
    indices = np.empty(y.shape, np.int64)
    if y.size:
        _kernels.max_pool2d_argmax_to_indices(indices, _raw(argmax), argmax.itemsize,
                                              tuple(x.shape), args.kernel, args.stride,
                                              args.padding)
    return y, indices


def max_pool2d_with_argmax(x: np.ndarray, kernel_size, stride=None, padding=0):
    """Max pooling that also returns the compact argmax its backward needs.

    x (N, C, H, W) -> ``(y, argmax)``, both (N, C, P, Q); argmax holds the window offset
    ``r * S + s`` of each maximum, dtype uint8 if R*S <= 256 else int32 (see the module doc).
    Pass it to ``max_pool2d_backward_argmax`` with the same hyper-parameters.
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("max_pool2d", x.shape, kernel_size, stride, padding)
    return _max_pool(x, args, with_argmax=True)


def _check_argmax(argmax: object, y_shape: tuple, kernel: tuple[int, int]) -> np.ndarray:
    expected = _argmax_dtype(kernel)
    if not isinstance(argmax, np.ndarray) or argmax.dtype != expected:
        got = argmax.dtype if isinstance(argmax, np.ndarray) else type(argmax).__name__
        raise TypeError(f"argmax must be a numpy.ndarray of dtype {expected} (from "
                        f"max_pool2d_with_argmax with kernel_size {kernel}), got {got}")
    _checks.check_shape("argmax", argmax, y_shape)
    return _contiguous(argmax)


def max_pool2d_backward(grad_y: np.ndarray, x: np.ndarray, kernel_size, stride=None,
                        padding=0, indices=None) -> np.ndarray:
    """Gradient of max pooling: each dY goes to its window's maximum (overlaps accumulate).

    grad_y (N, C, P, Q), x (N, C, H, W) -> grad_x (N, C, H, W). With ``indices`` (int64 flat
    ``h * W + w``, from ``max_pool2d(..., return_indices=True)``; range-checked) they are used;
    else the winners are recomputed from x. (``max_pool2d_backward_argmax`` is the fast path.)
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("max_pool2d", x.shape, kernel_size, stride, padding)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, P, Q)")
    _checks.check_same_dtype(grad_y=grad_y, x=x)
    n, c, h, w = x.shape
    _checks.check_shape("grad_y", grad_y, (n, c, *args.out_hw))
    grad_x = np.empty(x.shape, x.dtype)
    if indices is None:
        _, argmax = _max_pool(x, args, with_argmax=True)
        if grad_x.size:
            _kernels.max_pool2d_backward(grad_x, _contiguous(grad_y), _raw(argmax),
                                         argmax.itemsize, args.kernel, args.stride, args.padding)
        return grad_x
    _checks.check_pool_indices(indices, grad_y.shape, h * w)
    if grad_x.size:
        _kernels.max_pool2d_backward_indices(grad_x, _contiguous(grad_y),
                                             np.require(indices, np.int64, "CA"))
    return grad_x


def max_pool2d_backward_argmax(grad_y: np.ndarray, argmax: np.ndarray, x_shape, kernel_size,
                               stride=None, padding=0) -> np.ndarray:
    """Gradient of max pooling from the compact argmax of ``max_pool2d_with_argmax``.

    grad_y (N, C, P, Q), argmax (N, C, P, Q) uint8/int32, x_shape = (N, C, H, W) ->
    grad_x (N, C, H, W) of grad_y's dtype. x itself is not needed. An argmax value that names
    no real pixel of its window (the forward can't produce one) sends its gradient nowhere
    rather than out of bounds.
    """
    x_shape = _checks.check_shape_tuple("x_shape", x_shape, 4)
    args = _checks.check_pool2d("max_pool2d", x_shape, kernel_size, stride, padding)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, P, Q)")
    n, c = x_shape[:2]
    _checks.check_shape("grad_y", grad_y, (n, c, *args.out_hw))
    argmax = _check_argmax(argmax, grad_y.shape, args.kernel)
    grad_x = np.empty(x_shape, grad_y.dtype)
    if grad_x.size:
        _kernels.max_pool2d_backward(grad_x, _contiguous(grad_y), _raw(argmax), argmax.itemsize,
                                     args.kernel, args.stride, args.padding)
    return grad_x


def avg_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling: x (N, C, H, W) -> y (N, C, P, Q), zero padding.

    y = (sum of the window) / (R*S if count_include_pad else number of real pixels in it).
    """
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    args = _checks.check_pool2d("avg_pool2d", x.shape, kernel_size, stride, padding)
    count_include_pad = _checks.check_bool("count_include_pad", count_include_pad)
    _check_row_scratch("avg_pool2d", x.shape, args)
    y = np.empty((*x.shape[:2], *args.out_hw), x.dtype)
    if y.size:
        _kernels.avg_pool2d(y, _contiguous(x), count_include_pad, args.kernel,
                            args.stride, args.padding)
    return y


def avg_pool2d_backward(grad_y: np.ndarray, x_shape, kernel_size, stride=None, padding=0,
                        count_include_pad: bool = True) -> np.ndarray:
    """Gradient of average pooling: each dY / divisor is spread over its window.

    grad_y (N, C, P, Q), x_shape = (N, C, H, W) -> grad_x (N, C, H, W).
    """
    x_shape = _checks.check_shape_tuple("x_shape", x_shape, 4)
    args = _checks.check_pool2d("avg_pool2d", x_shape, kernel_size, stride, padding)
    count_include_pad = _checks.check_bool("count_include_pad", count_include_pad)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, P, Q)")
    n, c = x_shape[:2]
    _checks.check_shape("grad_y", grad_y, (n, c, *args.out_hw))
    grad_x = np.empty(x_shape, grad_y.dtype)
    if grad_y.size:
        _kernels.avg_pool2d_backward(grad_x, _contiguous(grad_y), count_include_pad,
                                     args.kernel, args.stride, args.padding)
    return grad_x


def global_avg_pool2d(x: np.ndarray) -> np.ndarray:
    """Mean over each plane (accumulated in float64): x (N, C, H, W) -> y (N, C, 1, 1)."""
    _checks.check_array("x", x, 4, "(N, C, H, W)")
    if x.shape[2] * x.shape[3] == 0:
        raise ValueError(f"global_avg_pool2d needs H*W > 0, got x shape {x.shape}")
    n, c, h, w = x.shape
    y = np.empty((n, c, 1, 1), x.dtype)
    if y.size:
        _kernels.global_avg_pool2d(y.reshape(n * c), _contiguous(x).reshape(n * c, h * w))
    return y


def global_avg_pool2d_backward(grad_y: np.ndarray, x_shape) -> np.ndarray:
    """grad_y (N, C, 1, 1), x_shape (N, C, H, W) -> grad_x = dY / (H*W) broadcast to x_shape."""
    x_shape = _checks.check_shape_tuple("x_shape", x_shape, 4)
    _checks.check_array("grad_y", grad_y, 4, "(N, C, 1, 1)")
    _checks.check_shape("grad_y", grad_y, (*x_shape[:2], 1, 1))
    if x_shape[2] * x_shape[3] == 0:
        raise ValueError(f"global_avg_pool2d needs H*W > 0, got x_shape {x_shape}")
    n, c, h, w = x_shape
    grad_x = np.empty(x_shape, grad_y.dtype)
    if grad_x.size:
        _kernels.global_avg_pool2d_backward(grad_x.reshape(n * c, h * w),
                                            _contiguous(grad_y).reshape(n * c))
    return grad_x
