"""fit / evaluate / save for data-parallel training (``convcore.fit(..., distributed=True)``).

Same loop as ``convcore.fit``, with: each rank's shard of every global batch
(``ShardedLoader``), gradients averaged by ``DataParallel``, per-epoch metrics summed over
ranks (History holds global figures), batch-norm buffers broadcast from rank 0 at the end of
each epoch (so validation and checkpoints see one model; per-rank statistics during the
epoch, as DDP), output and files on rank 0 only, and any exception aborting the job.
"""

from __future__ import annotations

import os
import time
from typing import Any, Tuple

import numpy as np

from ..nn.module import Module
from ..training import History, _check_xy, _correct, _is_classification, _mode, _progress_bar
from ..training import evaluate as _local_evaluate
from .comm import (
    abort_on_error,
    allreduce_max,
    allreduce_sum,
    assert_in_sync,
    broadcast_buffers,
    get_comm,
    init,
)
from .parallel import DataParallel, ShardedLoader
from .sync_batchnorm import _undo, plain_batchnorm


def _debug_default() -> bool:
    return os.environ.get("CONVCORE_DIST_DEBUG", "") not in ("", "0")


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
    comm: Any = None,
    debug: bool | None = None,
) -> History:
    """Data-parallel ``convcore.fit``: run the same call on every rank (``mpiexec -n P``).

    ``batch_size`` is per rank: a step consumes ``batch_size * P`` samples (Horovod's and
    DDP's convention; scale the learning rate yourself if you want to). With the same
    ``seed``, P ranks x B samples compute the same steps as one process with P*B (up to
    rounding), except for plain batch norm, which normalises each rank's shard with its own
    statistics (convert with ``convert_sync_batchnorm`` for global ones). X and y must be the
    same on every rank. ``model`` may be a ``DataParallel`` or a plain module (then wrapped,
    which broadcasts rank 0's weights). ``debug`` (default: env ``CONVCORE_DIST_DEBUG=1``)
    checks after every step that all ranks hold identical parameters and optimizer state.
    Returns a History of global metrics: loss and accuracy over all ranks' samples, seconds
    of the slowest rank, images/s of the whole job.
    """
    comm = init(comm)
    debug = _debug_default() if debug is None else bool(debug)
    root = comm.Get_rank() == 0
    with abort_on_error(comm):
        _check_xy(X, y)
        if validation_data is not None:
            _check_xy(validation_data[0], validation_data[1], "validation X")
        sizes = allreduce_max(np.array([len(X), -len(X)], dtype=np.int64), comm)
        if sizes[0] != -sizes[1]:  # unequal data would give unequal step counts: a deadlock
            raise ValueError(f"X must have the same length on every rank: between "
                             f"{-sizes[1]} and {sizes[0]}, this rank has {X.shape}")
        dp = model if isinstance(model, DataParallel) else DataParallel(model, comm)
        net = dp.module
        classification = _is_classification(loss_fn)
        loader = ShardedLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed, comm=comm)
        history = History()
        with _mode(net, True):
            for epoch in range(int(epochs)):
                bar = _progress_bar(len(loader), f"epoch {epoch + 1}/{epochs}", progress and root)
                totals = np.zeros(3)  # loss * samples, correct, samples (this rank)
                start = time.perf_counter()
                for xb, yb in loader:
                    optimizer.zero_grad()
                    out = dp(xb)
                    loss = loss_fn(out, yb)
                    dp.backward(loss_fn.backward())
                    optimizer.step()
                    if debug:
                        assert_in_sync(net, optimizer, comm)
                    totals += (loss * len(xb), _correct(out, yb) if classification else 0, len(xb))
                    if bar is not None:
                        bar.set_postfix({"loss": f"{totals[0] / totals[2]:.4f}"}, refresh=False)
                        bar.update(1)
                seconds = float(allreduce_max(np.array([time.perf_counter() - start]), comm)[0])
                if bar is not None:
                    bar.close()
                loss_sum, correct, seen = allreduce_sum(totals, comm)
                broadcast_buffers(net, 0, comm)
                history.epoch.append(epoch)
                history.loss.append(loss_sum / seen)
                history.seconds.append(seconds)
                history.images_per_s.append(seen / seconds if seconds > 0 else float("inf"))
                if classification:
                    history.accuracy.append(correct / seen)
                if validation_data is not None:
                    val_loss, val_acc = evaluate(net, loss_fn, *validation_data,
                                                 batch_size=max(256, batch_size), comm=comm)
                    history.val_loss.append(val_loss)
                    if classification:
                        history.val_accuracy.append(val_acc)
                if progress and root:
                    parts = [f"{k} {v[-1]:.4g}" for k, v in history.history.items()]
                    print(f"epoch {epoch + 1}/{epochs} ({comm.Get_size()} ranks): "
                          + ", ".join(parts), flush=True)
    return history


def evaluate(
    model: Module, loss_fn: Any, X: np.ndarray, y: np.ndarray, batch_size: int = 256,
    comm: Any = None,
) -> Tuple[float, float | None]:
    """``convcore.evaluate`` with X split across ranks (contiguous slices), the sums reduced:
    the same ``(loss, accuracy)`` on every rank, each rank evaluating 1/P of the data."""
    comm = get_comm(comm)
    if isinstance(model, DataParallel):
        model = model.module
    _check_xy(X, y)
    r, p = comm.Get_rank(), comm.Get_size()
    lo, hi = len(X) * r // p, len(X) * (r + 1) // p
    sums = np.zeros(3)  # loss * samples, correct, samples
    if hi > lo:
        loss, acc = _local_evaluate(model, loss_fn, X[lo:hi], y[lo:hi], batch_size=batch_size)
        sums[:] = loss * (hi - lo), (acc or 0.0) * (hi - lo), hi - lo
    loss_sum, correct, n = allreduce_sum(sums, comm)
    return loss_sum / n, (correct / n if _is_classification(loss_fn) else None)


def save(model: Module, path: Any, comm: Any = None, root: int = 0) -> None:
    """``convcore.save`` on rank ``root`` only (the others wait for it), unwrapping
    DataParallel and writing SyncBatchNorm layers as the plain ones (same weights), so that
    ``convcore.load`` reads the checkpoint in any process, distributed or not."""
    from ..io import save as save_model

    comm = get_comm(comm)
    if isinstance(model, DataParallel):
        model = model.module
    with abort_on_error(comm):
        if comm.Get_rank() == root:
            plain, swaps = plain_batchnorm(model)
            try:
                save_model(plain, path)
            finally:
                _undo(swaps)
    if comm.Get_size() > 1:
        comm.Barrier()
