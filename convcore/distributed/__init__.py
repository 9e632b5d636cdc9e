"""Data-parallel training over MPI (optional extra ``dist``: ``pip install 'convcore[dist]'``,
i.e. mpi4py and MPICH).

Run the same script on every rank, ``mpiexec -n 4 python train.py``; each rank (process)
holds the whole model and the data arrays, trains on its shard of every global batch and
averages gradients with one Allreduce per step (Horovod's scheme)::

    import convcore
    from convcore import distributed as dist

    model = dist.convert_sync_batchnorm(build_model())   # optional: global BN statistics
    history = convcore.fit(model, loss_fn, opt, X, y, batch_size=32, seed=0, distributed=True)
    dist.save(model, "model.npz")                          # written by rank 0

or, for a hand-written loop: ``dp = dist.DataParallel(model)``, ``ShardedLoader`` for the
batches, ``dp.backward(...)`` averages the gradients, ``dist.is_root()`` guards prints.

mpi4py is imported on first use: importing this package needs nothing beyond convcore.
See docs/distributed.md for the design and the scaling model.
"""

from .comm import (
    abort,
    abort_on_error,
    allreduce_max,
    allreduce_sum,
    assert_in_sync,
    broadcast_buffers,
    broadcast_parameters,
    checksum,
    configure_threads,
    default_num_threads,
    get_comm,
    init,
    is_available,
    is_root,
    local_size,
    rank,
    run,
    size,
)
from .parallel import DataParallel, GradientAverager, ShardedLoader
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm
from .training import evaluate, fit, save

__all__ = [
    "abort",
    "abort_on_error",
    "allreduce_max",
    "allreduce_sum",
    "assert_in_sync",
    "broadcast_buffers",
    "broadcast_parameters",
    "checksum",
    "configure_threads",
    "default_num_threads",
    "get_comm",
    "init",
    "is_available",
    "is_root",
    "local_size",
    "rank",
    "run",
    "size",
    "DataParallel",
    "GradientAverager",
    "ShardedLoader",
    "SyncBatchNorm",
    "convert_sync_batchnorm",
    "evaluate",
    "fit",
    "save",
]
