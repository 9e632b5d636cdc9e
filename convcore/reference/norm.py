"""Batch normalisation (2-D: NCHW, 1-D: NC), forward and backward, in plain NumPy.

Dimension legend: N batch, C channels, H x W plane; M = N*H*W values per channel.

    mean_c = 1/M sum x,   var_c = 1/M sum (x - mean_c)^2          (biased, for normalising)
    invstd_c = 1 / sqrt(var_c + eps)
    y = gamma_c * (x - mean_c) * invstd_c + beta_c               [then ReLU if fused]

Training mode uses the batch statistics and updates the running ones in place, as PyTorch:
    running_mean = (1 - momentum) * running_mean + momentum * mean
    running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)  (unbiased)
Eval mode uses the running statistics. Statistics are computed in float64 with the two-pass
formula (mean first, then squared deviations), so a large offset (x = 1e4 + noise) loses
nothing to cancellation.

Backward, with xhat = (x - mean) * invstd:
    grad_beta  = sum dY,   grad_gamma = sum dY * xhat
    training:  grad_x = gamma * invstd / M * (M * dY - grad_beta - xhat * grad_gamma)
    eval:      grad_x = gamma * invstd * dY          (the statistics are constants)
"""

from __future__ import annotations

import numpy as np

from .. import _checks

__all__ = [
    "batch_norm2d", "batch_norm2d_backward",
    "batch_norm1d", "batch_norm1d_backward",
]


def _channel_view(a: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a per-channel vector (C,) to broadcast against an (N, C[, H, W]) array."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps,
                activation, ndim):
    momentum, eps = _checks.check_batch_norm(x, gamma, beta, running_mean, running_var,
                                             training, momentum, eps, activation, ndim)
    axes = (0,) + tuple(range(2, ndim))        # every axis but the channel axis
    x64 = x.astype(np.float64)
    if training:
        mean = x64.mean(axis=axes)
        var = ((x64 - _channel_view(mean, ndim)) ** 2).mean(axis=axes)
        if running_mean is not None:
            m = x.size // x.shape[1]
            new_mean = (1 - momentum) * running_mean + momentum * mean
            new_var = (1 - momentum) * running_var + momentum * var * (m / (m - 1))
            running_mean[...] = new_mean
            running_var[...] = new_var
    else:
        mean = running_mean.astype(np.float64)
        var = running_var.astype(np.float64)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = gamma.astype(np.float64) * invstd
    shift = beta.astype(np.float64) - mean * scale
    y = x64 * _channel_view(scale, ndim) + _channel_view(shift, ndim)
    if activation == "relu":
        np.maximum(y, 0.0, out=y)
    return y.astype(x.dtype), mean.astype(x.dtype), invstd.astype(x.dtype)


def _batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, training, y, activation,
                         ndim):
    _checks.check_batch_norm_backward(grad_y, x, gamma, save_mean, save_invstd, y, activation,
                                      ndim)
    _checks.check_bool("training", training)
    axes = (0,) + tuple(range(2, ndim))
    dy = grad_y.astype(np.float64)
    if activation == "relu":
        dy = np.where(y > 0, dy, 0.0)
    invstd = _channel_view(save_invstd.astype(np.float64), ndim)
    xhat = (x.astype(np.float64) - _channel_view(save_mean.astype(np.float64), ndim)) * invstd
    grad_beta = dy.sum(axis=axes)
    grad_gamma = (dy * xhat).sum(axis=axes)
    g_invstd = _channel_view(gamma.astype(np.float64), ndim) * invstd
    if training:
        m = x.size // x.shape[1]
        grad_x = g_invstd / m * (m * dy - _channel_view(grad_beta, ndim)
                                 - xhat * _channel_view(grad_gamma, ndim))
    else:
        grad_x = g_invstd * dy
    return grad_x.astype(x.dtype), grad_gamma.astype(x.dtype), grad_beta.astype(x.dtype)


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
