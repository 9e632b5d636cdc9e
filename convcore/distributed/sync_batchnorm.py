"""SyncBatchNorm: batch norm whose training-mode statistics are those of the global batch
(all ranks' shards together), forward and backward; plus conversion to and from the plain
layers.

Dimension legend: N samples on this rank, C channels, H x W plane; M = global count of values
per channel (sum over ranks of N*H*W); w = N / (global N), this rank's share of the samples.

Forward (one Allreduce of 2C + 2 float64 values per layer):
    [sum x, sum x^2, N*H*W, N] summed over ranks -> mean, var = E[x^2] - mean^2 (biased),
    y = gamma * (x - mean) / sqrt(var + eps) + beta (the eval-mode kernel with these statistics)
The sums are float64, so E[x^2] - mean^2 keeps ~16 - log10(mean^2 / var) digits: plenty for
activations (the one-rank layer's two-pass formula is what keeps float32 data exact).

Backward (one Allreduce of 2C float64 values). Each rank's gradients are of its own mean loss;
DataParallel later weights them by w. The global loss is sum_r w_r L_r, so the sums that the
batch-norm backward needs are weighted by w before they are reduced:
    S_dy = sum_r w_r sum dy,   S_dyx = sum_r w_r sum dy * xhat
    grad_x = gamma * invstd * (dy - (S_dy + xhat * S_dyx) / (M * w))
    grad_gamma = sum dy * xhat, grad_beta = sum dy (this rank's, averaged by DataParallel)
With equal shards this is the textbook formula with global means.
"""

from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Tuple, Union

import numpy as np

from .. import _checks
from ..nn.module import Module
from ..nn.norm import BatchNorm1d, BatchNorm2d, _BatchNorm
from .comm import allreduce_sum, get_comm, is_available


class _SyncCache(NamedTuple):
    x: np.ndarray
    mean: np.ndarray  # (C,) in x's dtype, as used for y
    invstd: np.ndarray
    m_global: float  # values per channel over all ranks
    share: float  # this rank's fraction of the global samples
    y_relu: np.ndarray | None


class SyncBatchNorm(_BatchNorm):
    """Batch norm for (N, C) or (N, C, H, W) inputs with statistics over all ranks' batches.

    Same parameters, buffers, state dict keys and eval mode as BatchNorm1d/2d. In training
    mode it communicates over ``comm`` (default: MPI's COMM_WORLD), so every rank must call
    forward and backward in step. Without mpi4py and without ``comm`` it is a plain batch
    norm. Sequential does not fuse it with a following ReLU (the ReLU layer runs on its own).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: Any = np.float32,
        rng: Union[None, int, np.random.Generator] = None,
        comm: Any = None,
    ) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum, dtype=dtype, rng=rng)
        self.comm = comm

    def _communicator(self) -> Any:
        if self.comm is None and not is_available():
            return None
        return get_comm(self.comm)

    def forward(self, x: np.ndarray, activation: str | None = None) -> np.ndarray:
        """x (N, C) or (N, C, H, W) -> y like x; ``activation="relu"`` fuses a ReLU."""
        self._ndim = 2 if getattr(x, "ndim", 0) == 2 else 4
        comm = self._communicator() if self.training else None
        if comm is None:
            return super().forward(x, activation)
        _checks.check_batch_norm(x, self.weight.data, self.bias.data, self.running_mean,
                                 self.running_var, False, self.momentum, self.eps, activation,
                                 self._ndim)
        c = self.num_features
        axes = (0,) + tuple(range(2, x.ndim))
        x64 = x.astype(np.float64)
        stats = np.empty(2 * c + 2)
        stats[:c] = x64.sum(axis=axes)
        stats[c : 2 * c] = np.square(x64).sum(axis=axes)
        stats[2 * c :] = (x.size // c if c else 0), len(x)
        allreduce_sum(stats, comm)
        m_global, n_global = stats[2 * c], stats[2 * c + 1]
        if m_global <= 1:
            raise ValueError(
                f"SyncBatchNorm: training needs more than 1 value per channel over all ranks, "
                f"got {int(m_global)} (x shape on this rank {x.shape})"
            )
        mean = stats[:c] / m_global
        var = np.maximum(stats[c : 2 * c] / m_global - mean * mean, 0.0)
        self.running_mean[...] = (1 - self.momentum) * self.running_mean + self.momentum * mean
        unbiased = var * (m_global / (m_global - 1))
        self.running_var[...] = (1 - self.momentum) * self.running_var + self.momentum * unbiased
        self.num_batches_tracked += 1
        forward, _ = self._ops()
        y, mean_x, invstd_x = forward(x, self.weight.data, self.bias.data, mean.astype(x.dtype),
                                      var.astype(x.dtype), training=False, eps=self.eps,
                                      activation=activation)
        share = len(x) / n_global
        self._keep(_SyncCache(x, mean_x, invstd_x, m_global, share,
                              y if activation else None))
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        cache = self._take()
        if not isinstance(cache, _SyncCache):
            return super().backward(grad_out)
        x, c = cache.x, self.num_features
        _checks.check_batch_norm_backward(grad_out, x, self.weight.data, cache.mean,
                                          cache.invstd, cache.y_relu,
                                          None if cache.y_relu is None else "relu", self._ndim)
        comm = self._communicator()
        shape = (1, c) + (1,) * (x.ndim - 2)
        axes = (0,) + tuple(range(2, x.ndim))
        dy = grad_out.astype(np.float64)
        if cache.y_relu is not None:
            dy = np.where(cache.y_relu > 0, dy, 0.0)
        invstd = cache.invstd.astype(np.float64).reshape(shape)
        xhat = (x.astype(np.float64) - cache.mean.astype(np.float64).reshape(shape)) * invstd
        sums = np.empty(2 * c)
        sums[:c] = dy.sum(axis=axes)
        sums[c:] = (dy * xhat).sum(axis=axes)
        self.bias.accumulate_grad(sums[:c].astype(x.dtype))
        self.weight.accumulate_grad(sums[c:].astype(x.dtype))
        allreduce_sum(np.multiply(sums, cache.share, out=sums), comm)
        scale = cache.m_global * cache.share
        mean_dy = (sums[:c] / scale).reshape(shape)
        mean_dyx = (sums[c:] / scale).reshape(shape)
        gamma = self.weight.data.astype(np.float64).reshape(shape)
        grad_x = gamma * invstd * (dy - mean_dy - xhat * mean_dyx)
        return grad_x.astype(x.dtype)

    def plain_type(self) -> type:
        """BatchNorm1d or BatchNorm2d, whichever this layer replaces (by its last input)."""
        return BatchNorm1d if self._ndim == 2 else BatchNorm2d

    def extra_repr(self) -> str:
        return super().extra_repr() + ", sync=True"


def _replace_modules(model: Module, make: Callable[[Module], Module | None]
                     ) -> Tuple[Module, List[tuple]]:
    """Swap, in place, each submodule m of ``model`` for ``make(m)`` when that is not None.

    Looks at Module attributes and at lists of Modules (Sequential's ``layers``). Returns the
    (possibly new) root and the swaps ``(holder, key, old)`` so that they can be undone.
    """
    swaps: List[tuple] = []
    for owner in list(model.modules()):
        for name, value in list(vars(owner).items()):
            if isinstance(value, Module):
                new = make(value)
                if new is not None:
                    setattr(owner, name, new)
                    swaps.append((owner, name, value))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    new = make(item) if isinstance(item, Module) else None
                    if new is not None:
                        value[i] = new
                        swaps.append((value, i, item))
    root = make(model)
    return (model if root is None else root), swaps


def _undo(swaps: List[tuple]) -> None:
    for holder, key, old in reversed(swaps):
        if isinstance(holder, list):
            holder[key] = old
        else:
            setattr(holder, key, old)


def _same_state(new: _BatchNorm, old: _BatchNorm) -> _BatchNorm:
    """``new`` sharing ``old``'s Parameter objects and buffer arrays (optimizers built on the
    old layer keep working), in ``old``'s train/eval mode."""
    new.weight, new.bias = old.weight, old.bias
    for name in old._buffer_names:
        new.register_buffer(name, getattr(old, name))
    new.training = old.training
    return new


def convert_sync_batchnorm(model: Module, comm: Any = None) -> Module:
    """Replace every BatchNorm1d/BatchNorm2d of ``model`` by a SyncBatchNorm sharing its
    parameters and running statistics, in place; returns the model (a new root only when
    ``model`` itself is a batch norm layer). Like torch's ``convert_sync_batchnorm``."""

    def make(m: Module) -> Module | None:
        if type(m) not in (BatchNorm1d, BatchNorm2d):
            return None
        sync = SyncBatchNorm(m.num_features, m.eps, m.momentum, m.dtype, comm=comm)
        sync._ndim = m._ndim
        return _same_state(sync, m)

    return _replace_modules(model, make)[0]


def plain_batchnorm(model: Module) -> Tuple[Module, List[tuple]]:
    """Swap every SyncBatchNorm of ``model`` for the plain layer (same arrays), in place, e.g.
    to save the model in convcore's format; returns (root, swaps), undone by ``_undo(swaps)``."""

    def make(m: Module) -> Module | None:
        if not isinstance(m, SyncBatchNorm):
            return None
        return _same_state(m.plain_type()(m.num_features, m.eps, m.momentum, m.dtype), m)

    return _replace_modules(model, make)
