"""fit / evaluate / predict: a Keras-like training loop over convcore.nn models.

Classification is recognised by the loss: with ``CrossEntropyLoss`` the loop also reports
accuracy (argmax of the outputs vs integer targets); with other losses accuracy is not computed.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Dict, Iterator, List, Tuple

import numpy as np

from .data import DataLoader
from .nn.loss import CrossEntropyLoss
from .nn.module import Module, no_grad
from .nn.norm import _BatchNorm

__all__ = ["History", "fit", "evaluate", "predict"]

_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_s")


class History:
    """Per-epoch metrics of ``fit``, as lists (one entry per epoch).

    Attributes ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``seconds`` (training
    time of the epoch, validation excluded) and ``images_per_s`` (training samples per second),
    plus ``epoch`` (0-based indices). ``history`` is the Keras-style dict of the same lists,
    holding only the metrics that were measured (no accuracy for a regression loss, no
    ``val_*`` without validation data).
    """

    def __init__(self) -> None:
        self.epoch: List[int] = []
        for key in _KEYS:
            setattr(self, key, [])

    @property
    def history(self) -> Dict[str, List[float]]:
        return {key: getattr(self, key) for key in _KEYS if getattr(self, key)}

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


@contextlib.contextmanager
def _mode(model: Module, training: bool) -> Iterator[None]:
    """Set train/eval for the block, then restore every submodule's own previous mode.

    In training mode, batch-norm layers whose parameters are all frozen run in eval mode
    (their running statistics stay fixed), as Keras does for non-trainable BN layers.
    """
    saved = [(m, m.training) for m in model.modules()]
    model.train(training)
    if training:
        for m in model.modules():
            params = list(m.parameters())
            if isinstance(m, _BatchNorm) and params and not any(p.requires_grad for p in params):
                m.training = False
    try:
        yield
    finally:
        for m, flag in saved:
            m.training = flag


def _is_classification(loss_fn: Any) -> bool:
    return isinstance(loss_fn, CrossEntropyLoss)


def _correct(outputs: np.ndarray, target: np.ndarray) -> int:
    return int(np.count_nonzero(outputs.argmax(axis=1) == target))


def _check_xy(X: Any, y: Any, name: str = "X") -> None:
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(X).__name__}")
    if y is not None:
        if not isinstance(y, np.ndarray):
            raise TypeError(f"y must be a numpy ndarray, got {type(y).__name__}")
        if len(X) != len(y):
            raise ValueError(f"{name} and y have different lengths: {X.shape} vs {y.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")


def _progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar on a terminal (tqdm is optional); None otherwise."""
    if not enabled or not sys.stdout.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=True, file=sys.stdout)


def fit(
    model: Module,
    loss_fn: Any,
    optimizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: Tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    progress: bool = True,
    distributed: bool = False,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent; returns a ``History``.

    Each batch: ``optimizer.zero_grad()``, forward, ``loss_fn``, ``model.backward``,
    ``optimizer.step()``. The model is in training mode during the epochs and in eval mode for
    validation; every submodule's previous mode is restored at the end. Batch-norm layers
    whose parameters are all frozen (``requires_grad_(False)``) run in eval mode during training
    (fixed running statistics, as Keras; differs from torch's ``model.train()``). ``seed`` fixes the
    shuffling order. With ``progress``, a tqdm bar is shown when stdout is a terminal and tqdm
    is installed, and one summary line per epoch is printed. ``distributed=True``: data-parallel
    over MPI ranks (run under ``mpiexec``; ``batch_size`` is per rank), see
    ``convcore.distributed.fit``.
    """
    if distributed:
        from .distributed import fit as distributed_fit

        return distributed_fit(model, loss_fn, optimizer, X, y, epochs, batch_size,
                               validation_data, shuffle, seed, progress)
    _check_xy(X, y)
    if validation_data is not None:
        _check_xy(validation_data[0], validation_data[1], "validation X")
    classification = _is_classification(loss_fn)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    history = History()
    with _mode(model, True):
        for epoch in range(int(epochs)):
            bar = _progress_bar(len(loader), f"epoch {epoch + 1}/{epochs}", progress)
            total_loss, correct, seen = 0.0, 0, 0
            start = time.perf_counter()
            for xb, yb in loader:
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                model.backward(loss_fn.backward())
                optimizer.step()
                total_loss += loss * len(xb)
                seen += len(xb)
                if classification:
                    correct += _correct(out, yb)
                if bar is not None:
                    post = {"loss": f"{total_loss / seen:.4f}"}
                    if classification:
                        post["acc"] = f"{correct / seen:.4f}"
                    bar.set_postfix(post, refresh=False)
                    bar.update(1)
            seconds = time.perf_counter() - start
            if bar is not None:
                bar.close()
            history.epoch.append(epoch)
            history.loss.append(total_loss / seen)
            history.seconds.append(seconds)
            history.images_per_s.append(seen / seconds if seconds > 0 else float("inf"))
            if classification:
                history.accuracy.append(correct / seen)
            if validation_data is not None:
                val_loss, val_acc = evaluate(
                    model,
                    loss_fn,
                    validation_data[0],
                    validation_data[1],
                    batch_size=max(256, batch_size),
                )
                history.val_loss.append(val_loss)
                if classification:
                    history.val_accuracy.append(val_acc)
            if progress:
                parts = [f"{k} {v[-1]:.4g}" for k, v in history.history.items()]
                print(f"epoch {epoch + 1}/{epochs}: " + ", ".join(parts), flush=True)
    return history


def evaluate(
    model: Module, loss_fn: Any, X: np.ndarray, y: np.ndarray, batch_size: int = 256
) -> Tuple[float, float | None]:
    """Mean loss and accuracy of ``model`` on (X, y), in eval mode without caches.

    Returns ``(loss, accuracy)``; accuracy is None unless ``loss_fn`` is a CrossEntropyLoss.
    The model's train/eval modes are restored afterwards.
    """
    _check_xy(X, y)
    classification = _is_classification(loss_fn)
    total_loss, correct = 0.0, 0
    with _mode(model, False), no_grad():
        for xb, yb in DataLoader(X, y, batch_size=batch_size, shuffle=False):
            out = model(xb)
            total_loss += loss_fn(out, yb) * len(xb)
            if classification:
                correct += _correct(out, yb)
    n = len(X)
    return total_loss / n, (correct / n if classification else None)


def predict(model: Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Outputs of ``model`` on X (eval mode, no caches), batch by batch, concatenated."""
    _check_xy(X, None)
    with _mode(model, False), no_grad():
        outs = [model(xb) for xb in DataLoader(X, None, batch_size=batch_size, shuffle=False)]
    return np.concatenate(outs, axis=0)
