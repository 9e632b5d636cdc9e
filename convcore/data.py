"""DataLoader: mini-batches of (X, y) arrays, optionally shuffled each epoch."""

from __future__ import annotations

from typing import Iterator, Tuple, Union

import numpy as np


class DataLoader:
    """Iterate over ``(X[idx], y[idx])`` mini-batches.

    X: (N, ...) ndarray; y: (N, ...) ndarray or None (then batches are ``X[idx]`` alone).
    ``shuffle`` draws a new permutation every epoch (each ``iter``) from a Generator seeded
    with ``seed``; ``drop_last`` drops the final incomplete batch. ``len`` is the number of
    batches per epoch.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: Union[None, int, np.random.Generator] = None,
    ) -> None:
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy ndarray, got {type(X).__name__}")
        if y is not None:
            if not isinstance(y, np.ndarray):
                raise TypeError(f"y must be a numpy ndarray or None, got {type(y).__name__}")
            if len(y) != len(X):
                raise ValueError(f"X and y have different lengths: X {X.shape}, y {y.shape}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]]:
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else None
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, n)
            idx = order[lo:hi] if order is not None else slice(lo, hi)
            if self.y is None:
                yield self.X[idx]
            else:
                yield self.X[idx], self.y[idx]
