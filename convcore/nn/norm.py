"""Batch normalisation: BatchNorm2d (N, C, H, W) and BatchNorm1d (N, C).

Parameters ``weight`` (gamma) and ``bias`` (beta); buffers ``running_mean``, ``running_var``
and ``num_batches_tracked`` (PyTorch's names, so state dicts are interchangeable).
Training mode normalises with the batch statistics and updates the running ones (unbiased
variance); eval mode uses the running ones, and its backward treats them as constants.
Inside a ``Sequential``, a BatchNorm2d directly followed by ``ReLU`` runs the fused BN+ReLU
kernel.
"""

from __future__ import annotations

from typing import Any, Dict, Union

import numpy as np

from .module import Module, Parameter, check_dtype, ops


class _BatchNorm(Module):
    _ndim = 4

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: Any = np.float32,
        rng: Union[None, int, np.random.Generator] = None,
    ) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.dtype = check_dtype(dtype)
        self.weight = Parameter(np.ones(num_features, self.dtype))
        self.bias = Parameter(np.zeros(num_features, self.dtype))
        self.register_buffer("running_mean", np.zeros(num_features, self.dtype))
        self.register_buffer("running_var", np.ones(num_features, self.dtype))
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def _ops(self):
        f = ops()
        if self._ndim == 4:
            return f.batch_norm2d, f.batch_norm2d_backward
        return f.batch_norm1d, f.batch_norm1d_backward

    def forward(self, x: np.ndarray, activation: str | None = None) -> np.ndarray:
        """Normalise x; ``activation="relu"`` fuses a ReLU (its backward uses the output)."""
        forward, _ = self._ops()
        y, save_mean, save_invstd = forward(
            x,
            self.weight.data,
            self.bias.data,
            self.running_mean,
            self.running_var,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
            activation=activation,
        )
        if self.training:
            self.num_batches_tracked += 1
        self._keep((x, save_mean, save_invstd, self.training, y if activation else None))
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, save_mean, save_invstd, training, y_relu = self._take()
        _, backward = self._ops()
        gx, ggamma, gbeta = backward(
            grad_out,
            x,
            self.weight.data,
            save_mean,
            save_invstd,
            training=training,
            y=y_relu,
            activation=None if y_relu is None else "relu",
        )
        self.weight.accumulate_grad(ggamma)
        self.bias.accumulate_grad(gbeta)
        return gx

    def config(self) -> Dict[str, Any]:
        return dict(
            num_features=self.num_features,
            eps=self.eps,
            momentum=self.momentum,
            dtype=self.dtype.name,
        )


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, H, W) for each channel of x (N, C, H, W)."""

    _ndim = 4


class BatchNorm1d(_BatchNorm):
    """Batch norm over N for each feature of x (N, C)."""

    _ndim = 2
