"""Losses: ``loss = fn(pred, target)`` returns a float; ``fn.backward()`` gives d loss / d pred."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .module import ops


class _Loss:
    def __init__(self) -> None:
        self._cache: Tuple[Any, Any] | None = None

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise TypeError(f"{type(self).__name__} does not define forward()")

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)

    def _take(self) -> Tuple[Any, Any]:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before the loss")
        return self._cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropyLoss(_Loss):
    """Mean softmax cross-entropy. pred: logits (N, C); target: int class indices (N,)."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        loss = ops().cross_entropy(pred, target)
        self._cache = (pred, target)
        return loss

    def backward(self) -> np.ndarray:
        """Gradient of the mean loss with respect to the logits, shape (N, C)."""
        pred, target = self._take()
        return ops().cross_entropy_backward(pred, target)


class MSELoss(_Loss):
    """Mean squared error over all elements; pred and target have the same shape."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        loss = ops().mse_loss(pred, target)
        self._cache = (pred, target)
        return loss

    def backward(self) -> np.ndarray:
        """Gradient of the mean loss with respect to pred (pred's shape)."""
        pred, target = self._take()
        return ops().mse_loss_backward(pred, target)
