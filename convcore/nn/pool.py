"""Pooling layers: MaxPool2d, AvgPool2d, GlobalAvgPool2d (x (N, C, H, W))."""

from __future__ import annotations

from typing import Any, Dict, Tuple, Union

import numpy as np

from .conv import _pair
from .module import Module, is_grad_enabled, ops

IntPair = Union[int, Tuple[int, int]]


class MaxPool2d(Module):
    """Max pooling (padding counts as -inf; stride defaults to kernel_size).

    Keeps the position of each maximum for its backward: the compiled backend's compact
    window offset, or the reference's torch-style flat indices.
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dtype: Any = np.float32,
        rng: Any = None,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")

    def forward(self, x: np.ndarray) -> np.ndarray:
        F = ops()
        if not is_grad_enabled():
            self._cache = None
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)
        if hasattr(F, "max_pool2d_with_argmax"):
            # The compiled backend keeps a 1-byte window offset per output instead of int64
            # indices and needs neither x nor a search again in backward.
            y, argmax = F.max_pool2d_with_argmax(x, self.kernel_size, self.stride, self.padding)
            self._keep(("argmax", x.shape, argmax))
        else:
            y, indices = F.max_pool2d(
                x, self.kernel_size, self.stride, self.padding, return_indices=True
            )
            self._keep(("indices", x, indices))
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        kind, x_or_shape, where = self._take()
        if kind == "argmax":
            return ops().max_pool2d_backward_argmax(
                grad_out, where, x_or_shape, self.kernel_size, self.stride, self.padding
            )
        return ops().max_pool2d_backward(
            grad_out, x_or_shape, self.kernel_size, self.stride, self.padding, indices=where
        )

    def config(self) -> Dict[str, Any]:
        return dict(
            kernel_size=list(self.kernel_size), stride=list(self.stride), padding=list(self.padding)
        )


class AvgPool2d(Module):
    """Average pooling; ``count_include_pad`` as PyTorch (stride defaults to kernel_size)."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        count_include_pad: bool = True,
        dtype: Any = np.float32,
        rng: Any = None,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = ops().avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)
        self._keep(x.shape)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().avg_pool2d_backward(
            grad_out,
            self._take(),
            self.kernel_size,
            self.stride,
            self.padding,
            self.count_include_pad,
        )

    def config(self) -> Dict[str, Any]:
        return dict(
            kernel_size=list(self.kernel_size),
            stride=list(self.stride),
            padding=list(self.padding),
            count_include_pad=self.count_include_pad,
        )


class GlobalAvgPool2d(Module):
    """Mean over H and W: (N, C, H, W) -> (N, C, 1, 1) (PyTorch: AdaptiveAvgPool2d(1))."""

    def __init__(self, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = ops().global_avg_pool2d(x)
        self._keep(x.shape)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().global_avg_pool2d_backward(grad_out, self._take())
