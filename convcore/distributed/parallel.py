"""DataParallel (gradient averaging over ranks) and ShardedLoader (each rank's part of every
global batch).

The scheme is Horovod's / PyTorch DDP's: every rank holds the whole model, runs forward and
backward on its own shard of the global batch, then one Allreduce per dtype over a contiguous,
preallocated buffer averages the gradients, so every rank applies the same update.

Averaging is by samples, not by ranks: rank r packs ``n_r * grad_r`` (its loss is the mean
over its n_r samples, as convcore's losses are) and the buffer's last slot carries ``n_r``;
after the sum, each gradient is divided by the global sample count. Uneven shards (the last
batch of an epoch) therefore give the gradient of the mean over the global batch, exactly as
one process would compute it.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Tuple, Union

import numpy as np

from ..nn.module import Module, Parameter
from .comm import allreduce_sum, broadcast_parameters, get_comm, init


class _Bucket:
    """One contiguous buffer for the trainable parameters of one dtype.

    Layout: ``[grad_0 | grad_1 | ... | present_0 .. present_k | n_samples]`` where ``present_i``
    counts the ranks that had a gradient for parameter i (a parameter no rank touched this
    step keeps ``grad=None``, so optimizers skip it as they would in one process).
    """

    def __init__(self, params: List[Parameter], dtype: np.dtype) -> None:
        self.params = params
        self.offsets = np.cumsum([0] + [p.size for p in params])
        n_grads = int(self.offsets[-1])
        self.present = slice(n_grads, n_grads + len(params))
        self.buffer = np.zeros(n_grads + len(params) + 1, dtype=dtype)

    def pack(self, n_local: int) -> None:
        buf = self.buffer
        for i, p in enumerate(self.params):
            region = buf[self.offsets[i] : self.offsets[i + 1]]
            if p.grad is None:
                region[...] = 0
                buf[self.present.start + i] = 0
            else:
                np.multiply(p.grad.reshape(-1), n_local, out=region)
                buf[self.present.start + i] = 1
        buf[-1] = n_local

    def unpack(self) -> None:
        buf = self.buffer
        n_global = buf[-1]
        if n_global <= 0:
            return
        for i, p in enumerate(self.params):
            if buf[self.present.start + i] == 0:
                continue
            region = buf[self.offsets[i] : self.offsets[i + 1]]
            if p.grad is None or not p.grad.flags.c_contiguous:
                p.grad = np.empty(p.shape, dtype=p.dtype)
            np.divide(region, n_global, out=p.grad.reshape(-1))


class GradientAverager:
    """Averages the ``.grad`` of a model's trainable parameters over all ranks.

    Frozen parameters (``requires_grad=False``) are left out of the buffer; the layout is
    rebuilt when the set of trainable parameters changes (e.g. after ``requires_grad_``),
    which must happen identically on every rank. ``seconds`` and ``bytes`` accumulate the
    time spent in Allreduce and the bytes reduced, ``calls`` counts the averaging steps.
    """

    def __init__(self, model: Module, comm: Any = None) -> None:
        self.model = model
        self.comm = get_comm(comm)
        self._key: Tuple[int, ...] = ()
        self._buckets: List[_Bucket] = []
        self.seconds = 0.0
        self.bytes = 0
        self.calls = 0

    def _layout(self) -> List[_Bucket]:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        key = tuple(id(p) for p in trainable)
        if key != self._key:
            by_dtype: Dict[np.dtype, List[Parameter]] = {}
            for p in trainable:
                by_dtype.setdefault(p.dtype, []).append(p)
            self._buckets = [_Bucket(ps, dt) for dt, ps in by_dtype.items()]
            self._key = key
        return self._buckets

    def average(self, n_local: int) -> None:
        """Replace every trainable ``.grad`` by the sample-weighted mean over all ranks.

        ``n_local``: the number of samples this rank's gradients were averaged over.
        """
        for bucket in self._layout():
            bucket.pack(n_local)
            start = time.perf_counter()
            allreduce_sum(bucket.buffer, self.comm)
            self.seconds += time.perf_counter() - start
            self.bytes += bucket.buffer.nbytes
            bucket.unpack()
        self.calls += 1


class DataParallel(Module):
    """Wrap ``module`` for data-parallel training: ``forward`` runs the local shard,
    ``backward`` runs the module's backward and then averages the gradients over all ranks.

    Use it as the model itself (``opt = SGD(dp.parameters(), ...)``; ``out = dp(xb)``;
    ``dp.backward(loss_fn.backward())``; ``opt.step()``). Construction broadcasts rank 0's
    parameters and buffers (``broadcast=True``), so all replicas start equal, and calls
    ``convcore.distributed.init`` (threads per rank, abort on uncaught errors). State dict keys
    get a ``module.`` prefix (as torch's DDP); save ``dp.module``.

    Batch norm layers keep per-rank statistics (as DDP); use ``SyncBatchNorm`` for the
    global batch's. ``averager.seconds`` is the time spent in Allreduce so far.
    """

    def __init__(self, module: Module, comm: Any = None, broadcast: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a Module, got {type(module).__name__}")
        self.module = module
        self.comm = init(comm)
        if broadcast:
            broadcast_parameters(module, 0, self.comm)
        self.averager = GradientAverager(module, self.comm)
        self._n_local = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: this rank's shard (n_local, ...) -> the module's output for it."""
        self._n_local = len(x)
        return self.module(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Module backward, then gradients averaged over all ranks (one Allreduce per dtype)."""
        grad_in = self.module.backward(grad_out)
        self.averager.average(self._n_local)
        return grad_in

    def extra_repr(self) -> str:
        return f"ranks={self.comm.Get_size()}"


class ShardedLoader:
    """This rank's part of every global batch of ``batch_size * size`` samples.

    Every rank draws the same permutation each epoch (same ``seed``; with ``seed=None``
    rank 0 picks one and broadcasts it), cuts it into global batches as a one-process
    ``DataLoader(batch_size=batch_size * size)`` with that seed would, and takes the r-th of
    ``size`` contiguous, near-equal, disjoint slices of each. The last global batch may be
    short: it is split as evenly as possible, and dropped when it has fewer samples than
    ranks (each rank needs at least one) or with ``drop_last``. ``len`` (steps per epoch) is
    the same on every rank, as the collectives need.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: Union[None, int] = None,
        comm: Any = None,
    ) -> None:
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy ndarray, got {type(X).__name__}")
        if y is not None and (not isinstance(y, np.ndarray) or len(y) != len(X)):
            raise ValueError(f"y must be an ndarray as long as X: X {X.shape}, y "
                             f"{getattr(y, 'shape', type(y).__name__)}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        comm = get_comm(comm)
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        if seed is None and shuffle:
            seed = int(np.random.SeedSequence().entropy % 2**63) if self.rank == 0 else None
            seed = comm.bcast(seed, root=0) if self.size > 1 else seed
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rng = np.random.default_rng(seed)

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.size

    def __len__(self) -> int:
        full, rest = divmod(len(self.X), self.global_batch_size)
        return full + (1 if rest >= self.size and not self.drop_last else 0)

    def shard_bounds(self, start: int, stop: int) -> Tuple[int, int]:
        """This rank's [lo, hi) of the global batch [start, stop)."""
        m = stop - start
        return start + m * self.rank // self.size, start + m * (self.rank + 1) // self.size

    def __iter__(self) -> Iterator[Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]]:
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            start = b * self.global_batch_size
            lo, hi = self.shard_bounds(start, min(start + self.global_batch_size, n))
            idx = order[lo:hi]
            yield self.X[idx] if self.y is None else (self.X[idx], self.y[idx])
