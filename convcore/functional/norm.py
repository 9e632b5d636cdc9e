"""Batch normalisation, compiled (csrc/norm/): 2-D (N, C, H, W) and 1-D (N, C), with backward.

Dimension legend: N batch, C channels, H x W plane; M = N*H*W values per channel.
Same signatures, checks and results as ``convcore.reference.norm``; float32 and float64.

Statistics are accumulated in float64 from ``x - shift`` (shift = the channel's first value),
so a large common offset (x = 1e4 + N(0, 1)) cancels exactly before any squaring; float32
outputs subtract the float64 mean as two float32 parts, keeping that precision. Training mode
updates ``running_mean``/``running_var`` in place as PyTorch (momentum, unbiased variance).
``activation="relu"`` fuses a ReLU into the forward (one pass writes y) and, given the forward
output ``y``, into the backward (dY is masked by y > 0 inside the kernel). Results are
bit-identical for any thread count (fixed-order reductions).
"""

from __future__ import annotations

import numpy as np

from .. import _checks, _kernels

__all__ = [
    "batch_norm2d", "batch_norm2d_backward",
    "batch_norm1d", "batch_norm1d_backward",
]


def _contiguous(a: np.ndarray) -> np.ndarray:
    return np.require(a, requirements="CA")


def _as_ncl(a: np.ndarray) -> np.ndarray:
    """(N, C[, H, W]) -> a C-contiguous (N, C, L) view (a copy only when needed)."""
    return _contiguous(a).reshape(a.shape[0], a.shape[1], -1)


def _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps,
                activation, ndim):
    momentum, eps = _checks.check_batch_norm(x, gamma, beta, running_mean, running_var,
                                             training, momentum, eps, activation, ndim)
    n_channels = x.shape[1]
    y = np.empty(x.shape, x.dtype)
    save_mean = np.empty(n_channels, x.dtype)
    save_invstd = np.empty(n_channels, x.dtype)
    if x.size == 0:   # eval mode on an empty batch: nothing to normalise
        save_mean[...] = running_mean
        save_invstd[...] = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
        return y, save_mean, save_invstd
    none = np.empty(0, x.dtype)
    # The kernel writes the running stats through contiguous buffers; non-contiguous ones
    # (rare) are updated through a copy and written back.
    rm = none if running_mean is None else _contiguous(running_mean)
    rv = none if running_var is None else _contiguous(running_var)
    if training and rm.size and (not rm.flags.writeable or not rv.flags.writeable):
        raise ValueError("running_mean and running_var must be writeable in training mode")
    _kernels.batch_norm_forward(_as_ncl(y), save_mean, save_invstd, rm, rv, _as_ncl(x),
                                _contiguous(gamma), _contiguous(beta), training,
                                momentum, eps, activation == "relu")
    if training and running_mean is not None:
        if rm is not running_mean:
            running_mean[...] = rm
        if rv is not running_var:
            running_var[...] = rv
    return y, save_mean, save_invstd


def _batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, training, y, activation,
                         ndim):
    _checks.check_batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, y, activation,
                                      ndim)
    training = _checks.check_bool("training", training)
    n_channels = x.shape[1]
    grad_x = np.empty(x.shape, x.dtype)
    grad_gamma = np.empty(n_channels, x.dtype)
    grad_beta = np.empty(n_channels, x.dtype)
    if x.size == 0:
        grad_gamma[...] = 0
        grad_beta[...] = 0
        return grad_x, grad_gamma, grad_beta
    y_ncl = _as_ncl(y) if activation == "relu" else np.empty((0, 0, 0), x.dtype)
    _kernels.batch_norm_backward(_as_ncl(grad_x), grad_gamma, grad_beta, _as_ncl(grad_y),
                                 _as_ncl(x), y_ncl, _contiguous(gamma), _contiguous(save_mean),
                                 _contiguous(save_invstd), training)
    return grad_x, grad_gamma, grad_beta


def batch_norm2d(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                 running_mean: np.ndarray | None = None,
                 running_var: np.ndarray | None = None, training: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5, activation: str | None = None):
    """Batch norm over (N, H, W) per channel: x (N, C, H, W), gamma/beta (C,).

    Returns ``(y, save_mean, save_invstd)``: y like x; save_mean, save_invstd (C,) are the
    batch statistics in training mode, the running mean and 1/sqrt(running_var + eps) in eval
    mode. In training mode running_mean/running_var (C,), if given, are updated in place.
    ``activation="relu"`` fuses a ReLU.
    """
    return _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps,
                       activation, 4)


def batch_norm2d_backward(grad_y: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                          save_mean: np.ndarray, save_invstd: np.ndarray,
                          training: bool = True, y: np.ndarray | None = None,
                          activation: str | None = None):
    """Gradients of batch_norm2d: returns ``(grad_x, grad_gamma, grad_beta)``.

    grad_y, x (N, C, H, W); gamma, save_mean, save_invstd (C,) from the forward.
    ``training=False`` is the eval-mode backward. With ``activation="relu"`` pass ``y``,
    the forward output, to mask grad_y.
    """
    return _batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, training, y,
                                activation, 4)


def batch_norm1d(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                 running_mean: np.ndarray | None = None,
                 running_var: np.ndarray | None = None, training: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5, activation: str | None = None):
    """Batch norm over N per feature: x (N, C), gamma/beta (C,). See batch_norm2d."""
    return _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps,
                       activation, 2)


def batch_norm1d_backward(grad_y: np.ndarray, x: np.ndarray, gamma: np.ndarray,
                          save_mean: np.ndarray, save_invstd: np.ndarray,
                          training: bool = True, y: np.ndarray | None = None,
                          activation: str | None = None):
    """Gradients of batch_norm1d: grad_y, x (N, C) -> ``(grad_x, grad_gamma, grad_beta)``."""
    return _batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, training, y,
                                activation, 2)
