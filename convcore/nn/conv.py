"""Conv2d and Linear: the layers with a weight and a bias (PyTorch default init)."""

from __future__ import annotations

from typing import Any, Dict, Tuple, Union

import numpy as np

from .. import _checks
from ..init import default_weight_bias_
from .module import Module, Parameter, as_generator, check_dtype, ops

IntPair = Union[int, Tuple[int, int]]


def _pair(value: IntPair, name: str) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _grad_needs(weight: Parameter, bias: Parameter | None) -> Tuple[str, ...]:
    needs = ["x"]
    if weight.requires_grad:
        needs.append("weight")
    if bias is not None and bias.requires_grad:
        needs.append("bias")
    return tuple(needs)


class Conv2d(Module):
    """2-D convolution. x (N, C, H, W) -> y (N, K, P, Q); weight (K, C // groups, R, S).

    Inside a ``Sequential``, a Conv2d directly followed by ``ReLU`` runs the fused
    conv+bias+ReLU kernel; its backward masks the gradient with the saved output (y > 0).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        dtype: Any = np.float32,
        rng: Union[None, int, np.random.Generator] = None,
    ) -> None:
        super().__init__()
        in_channels = _checks.check_int("in_channels", in_channels, 1)
        out_channels = _checks.check_int("out_channels", out_channels, 1)
        groups = _checks.check_int("groups", groups, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                f"divisible by groups ({groups})"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.groups = int(groups)
        self.dtype = check_dtype(dtype)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, self.dtype))
        self.bias = Parameter(np.empty(out_channels, self.dtype)) if bias else None
        default_weight_bias_(self.weight, self.bias, as_generator(rng))

    def _hyper(self) -> Dict[str, Any]:
        return dict(
            stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups
        )

    def forward(self, x: np.ndarray, activation: str | None = None) -> np.ndarray:
        """y = conv(x) + bias, optionally followed by a fused ReLU (``activation="relu"``)."""
        bias = None if self.bias is None else self.bias.data
        y = ops().conv2d(x, self.weight.data, bias, activation=activation, **self._hyper())
        self._keep((x, y if activation else None))
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, y_relu = self._take()
        if y_relu is not None:
            grad_out = grad_out * (y_relu > 0)
        needs = _grad_needs(self.weight, self.bias)
        gx, gw, gb = ops().conv2d_backward(
            grad_out, x, self.weight.data, needs=needs, **self._hyper()
        )
        self.weight.accumulate_grad(gw)
        if self.bias is not None:
            self.bias.accumulate_grad(gb)
        return gx

    def config(self) -> Dict[str, Any]:
        return dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel_size=list(self.kernel_size),
            stride=list(self.stride),
            padding=list(self.padding),
            dilation=list(self.dilation),
            groups=self.groups,
            bias=self.bias is not None,
            dtype=self.dtype.name,
        )


class Linear(Module):
    """Fully connected layer. x (N, in_features) -> y (N, out_features) = x W^T + b.

    Inputs with more than 2 dims (N, ..., in_features) are treated as rows, as PyTorch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = np.float32,
        rng: Union[None, int, np.random.Generator] = None,
    ) -> None:
        super().__init__()
        self.in_features = _checks.check_int("in_features", in_features, 1)
        self.out_features = _checks.check_int("out_features", out_features, 1)
        self.dtype = check_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), self.dtype))
        self.bias = Parameter(np.empty(out_features, self.dtype)) if bias else None
        default_weight_bias_(self.weight, self.bias, as_generator(rng))

    def forward(self, x: np.ndarray) -> np.ndarray:
        shape = getattr(x, "shape", None)
        rows = x.reshape(-1, shape[-1]) if shape is not None and len(shape) > 2 else x
        bias = None if self.bias is None else self.bias.data
        y = ops().linear(rows, self.weight.data, bias)
        self._keep((rows, shape))
        return y.reshape(shape[:-1] + (self.out_features,)) if rows is not x else y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        rows, shape = self._take()
        _checks.check_array("grad_y", grad_out)
        _checks.check_shape("grad_y", grad_out, (*shape[:-1], self.out_features))
        g = grad_out.reshape(-1, self.out_features)
        gx, gw, gb = ops().linear_backward(g, rows, self.weight.data)
        self.weight.accumulate_grad(gw)
        if self.bias is not None:
            self.bias.accumulate_grad(gb)
        return gx.reshape(shape)

    def config(self) -> Dict[str, Any]:
        return dict(
            in_features=self.in_features,
            out_features=self.out_features,
            bias=self.bias is not None,
            dtype=self.dtype.name,
        )
