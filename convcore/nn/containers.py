"""Containers: Sequential (with Conv/BN + ReLU fusion) and Residual."""

from __future__ import annotations

from typing import Iterator, List, Tuple, Union

import numpy as np

from .conv import Conv2d
from .layers import ReLU
from .module import Module
from .norm import BatchNorm2d

_FUSABLE = (Conv2d, BatchNorm2d)


class Sequential(Module):
    """Layers applied in order; backward walks them in reverse.

    Indexable (``model[0]``), sliceable (``model[:3]`` is a Sequential sharing the layers),
    ``len``, iterable. With ``fuse=True`` (default) a Conv2d or BatchNorm2d directly followed
    by a ``ReLU`` runs as one fused kernel (the ReLU layer is then skipped, results are the
    same); ``fuse=False`` runs every layer on its own.
    """

    def __init__(self, *layers: Module, fuse: bool = True) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a Module")
        self.layers: List[Module] = list(layers)
        self.fuse = bool(fuse)

    def named_children(self) -> Iterator[Tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __getitem__(self, index: Union[int, slice]) -> Union[Module, Sequential]:
        if isinstance(index, slice):
            return Sequential(*self.layers[index], fuse=self.fuse)
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, layer: Module) -> Sequential:
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: got a {type(layer).__name__}, not a Module")
        self.layers.append(layer)
        return self

    def _fused_with_next(self, i: int) -> bool:
        return (
            self.fuse
            and type(self.layers[i]) in _FUSABLE
            and i + 1 < len(self.layers)
            and type(self.layers[i + 1]) is ReLU
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        steps: List[int] = []
        i = 0
        while i < len(self.layers):
            steps.append(i)
            if self._fused_with_next(i):
                x = self.layers[i].forward(x, activation="relu")
                i += 2
            else:
                x = self.layers[i](x)
                i += 1
        self._keep(steps)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for i in reversed(self._take()):
            grad_out = self.layers[i].backward(grad_out)
        return grad_out


class Residual(Module):
    """y = block(x) + shortcut(x); the shortcut is the identity when None.

    Backward sums the two branches' input gradients.
    """

    def __init__(self, block: Module, shortcut: Module | None = None) -> None:
        super().__init__()
        if not isinstance(block, Module) or not (shortcut is None or isinstance(shortcut, Module)):
            raise TypeError("Residual: block and shortcut must be Modules (shortcut may be None)")
        self.block = block
        self.shortcut = shortcut

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self.block(x)
        s = x if self.shortcut is None else self.shortcut(x)
        if y.shape != s.shape:
            raise ValueError(
                f"Residual: block output shape {y.shape} != shortcut output shape {s.shape}"
            )
        self._keep(True)
        return y + s

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self._take()
        grad_in = self.block.backward(grad_out)
        if self.shortcut is None:
            return grad_in + grad_out
        return grad_in + self.shortcut.backward(grad_out)
