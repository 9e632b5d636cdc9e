"""Parameter-free layers: activations, Maxout, Flatten, Dropout."""

from __future__ import annotations

from typing import Any, Dict, Union

import numpy as np

from .. import _checks
from .module import Module, as_generator, ops


class ReLU(Module):
    """max(x, 0). Fused into a preceding Conv2d / BatchNorm2d by ``Sequential``."""

    def __init__(self, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._keep(x)
        return ops().relu(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().relu_backward(grad_out, self._take())


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, dtype: Any = np.float32, rng: Any = None):
        super().__init__()
        self.negative_slope = _checks.check_float("negative_slope", negative_slope, -np.inf,
                                                  np.inf)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._keep(x)
        return ops().leaky_relu(x, self.negative_slope)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().leaky_relu_backward(grad_out, self._take(), self.negative_slope)

    def config(self) -> Dict[str, Any]:
        return dict(negative_slope=self.negative_slope)


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._keep(x)
        return ops().elu(x, self.alpha)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().elu_backward(grad_out, self._take(), self.alpha)

    def config(self) -> Dict[str, Any]:
        return dict(alpha=self.alpha)


class Sigmoid(Module):
    """1 / (1 + exp(-x)); backward uses the saved output."""

    def __init__(self, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = ops().sigmoid(x)
        self._keep(y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().sigmoid_backward(grad_out, self._take())


class Tanh(Module):
    """tanh(x); backward uses the saved output."""

    def __init__(self, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = ops().tanh(x)
        self._keep(y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().tanh_backward(grad_out, self._take())


class Maxout(Module):
    """Max over groups of ``pieces`` consecutive channels: (N, C, ...) -> (N, C // pieces, ...)."""

    def __init__(self, pieces: int, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()
        if int(pieces) < 1:
            raise ValueError(f"pieces must be >= 1, got {pieces}")
        self.pieces = int(pieces)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._keep(x)
        return ops().maxout(x, self.pieces)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops().maxout_backward(grad_out, self._take(), self.pieces)

    def config(self) -> Dict[str, Any]:
        return dict(pieces=self.pieces)


class Flatten(Module):
    """Reshape (N, d1, d2, ...) -> (N, d1 * d2 * ...) (dims from ``start_dim`` on are merged)."""

    def __init__(self, start_dim: int = 1, dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy ndarray, got {type(x).__name__}")
        self._keep(x.shape)
        # An explicit size, not -1: -1 is ambiguous when the batch is empty.
        return x.reshape(x.shape[: self.start_dim] + (int(np.prod(x.shape[self.start_dim:])),))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape = self._take()
        _checks.check_array("grad_y", grad_out)
        _checks.check_shape("grad_y", grad_out,
                            shape[: self.start_dim] + (int(np.prod(shape[self.start_dim:])),))
        return grad_out.reshape(shape)

    def config(self) -> Dict[str, Any]:
        return dict(start_dim=self.start_dim)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p, scale by 1/(1-p).

    Identity in eval mode. ``rng`` (seed or Generator) draws the masks, a new one per forward.
    """

    def __init__(
        self,
        p: float = 0.5,
        dtype: Any = np.float32,
        rng: Union[None, int, np.random.Generator] = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"dropout probability p must satisfy 0 <= p < 1, got {p}")
        self.p = float(p)
        self.rng = as_generator(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        training = self.training and self.p > 0
        y, mask = ops().dropout(x, self.p, training=training, rng=self.rng)
        self._keep(mask if training else True)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = self._take()
        if mask is True:
            return grad_out.copy()
        return ops().dropout_backward(grad_out, mask, self.p)

    def config(self) -> Dict[str, Any]:
        return dict(p=self.p)
