"""MPI plumbing: the communicator, rank/size, threads per rank, abort on error, broadcasts and
the in-sync check.

mpi4py is imported on first use (``_mpi()``), never at import time: ``import
convcore.distributed`` works without it. Every function takes ``comm=None``, meaning
``MPI.COMM_WORLD``; any object with mpi4py's ``Get_rank``/``Get_size`` and capital-letter
buffer methods works, and one of size 1 never communicates (so the code paths run, and are
tested, in a single process without MPI).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import zlib
from typing import Any, Callable, Iterator

import numpy as np

from ..nn.module import Module

_INSTALL_HINT = "convcore.distributed needs mpi4py and an MPI: pip install 'convcore[dist]'"
_state = {"initialized": False}


def _mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI); ImportError with a hint."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError(f"{_INSTALL_HINT} ({err})") from err
    return MPI


def is_available() -> bool:
    """True when mpi4py can be imported (imports the package, which does not start MPI)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def get_comm(comm: Any = None) -> Any:
    """``comm``, or ``MPI.COMM_WORLD`` when it is None."""
    return _mpi().COMM_WORLD if comm is None else comm


def rank(comm: Any = None) -> int:
    """This process's rank in ``comm`` (0 .. size-1)."""
    return get_comm(comm).Get_rank()


def size(comm: Any = None) -> int:
    """The number of ranks in ``comm``."""
    return get_comm(comm).Get_size()


def is_root(comm: Any = None, root: int = 0) -> bool:
    """True on the rank that prints and writes files (rank ``root``, 0 by default)."""
    return get_comm(comm).Get_rank() == root


def local_size(comm: Any = None) -> int:
    """The number of ranks of ``comm`` running on this host (shared-memory node).

    Collective: every rank of ``comm`` must call it."""
    comm = get_comm(comm)
    if comm.Get_size() == 1:
        return 1
    node = comm.Split_type(_mpi().COMM_TYPE_SHARED)
    try:
        return node.Get_size()
    finally:
        node.Free()


def allreduce_sum(buffer: np.ndarray, comm: Any = None) -> np.ndarray:
    """Sum ``buffer`` (contiguous ndarray) over all ranks, in place; returns it."""
    comm = get_comm(comm)
    if comm.Get_size() > 1:
        MPI = _mpi()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    return buffer


def allreduce_max(buffer: np.ndarray, comm: Any = None) -> np.ndarray:
    """Element-wise maximum of ``buffer`` over all ranks, in place; returns it."""
    comm = get_comm(comm)
    if comm.Get_size() > 1:
        MPI = _mpi()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.MAX)
    return buffer


# ---- threads --------------------------------------------------------------------------------
def default_num_threads(comm: Any = None) -> int:
    """Cores / ranks on this host (at least 1), bounded by the cores this rank may use
    (a launcher that binds each rank to one core leaves it one)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = os.cpu_count() or 1
    return max(1, min(usable or 1, cores // local_size(comm)))


def configure_threads(comm: Any = None) -> int:
    """Give this rank ``default_num_threads()`` threads unless OMP_NUM_THREADS is set.

    Sets convcore's kernel threads (``convcore.set_num_threads``) and, when threadpoolctl is
    installed, NumPy's BLAS threads, so that P ranks on a host don't run P x cores threads.
    Returns the thread count chosen.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        n = max(1, int(os.environ["OMP_NUM_THREADS"]))
    else:
        n = default_num_threads(comm)
        import convcore

        set_num_threads = getattr(convcore, "set_num_threads", None)
        if set_num_threads is not None:
            set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return n
    threadpool_limits(limits=n, user_api="blas")
    return n


# ---- failures -------------------------------------------------------------------------------
def abort(comm: Any = None, code: int = 1) -> None:
    """Print the exception being handled (if any) with this rank's number, then end every
    rank of the job (``MPI_Abort``). Ranks blocked in a collective would otherwise wait
    forever for the one that failed."""
    comm = get_comm(comm)
    if sys.exc_info()[1] is not None:
        sys.stderr.write(f"[rank {comm.Get_rank()}/{comm.Get_size()}] error, aborting the job:\n")
        traceback.print_exc(file=sys.stderr)
    _end_job(comm, code)


_ABORT_GRACE_SECONDS = 0.5


def _end_job(comm: Any, code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    # The launcher forwards our output asynchronously and stops when it kills the job: without
    # a pause, the traceback just written was cut in 5 runs of 40 here; with it, in 0 of 80.
    time.sleep(_ABORT_GRACE_SECONDS)
    comm.Abort(code)
    os._exit(code)  # MPICH's MPI_Abort may return before the process manager kills us


@contextlib.contextmanager
def abort_on_error(comm: Any = None) -> Iterator[None]:
    """Context manager: an exception inside the block aborts the whole job when it runs on
    more than one rank (re-raised as usual on a single rank)."""
    comm = get_comm(comm)
    try:
        yield
    except BaseException:
        if comm.Get_size() > 1:
            abort(comm)
        raise


def _excepthook(exc_type, exc, tb) -> None:
    sys.__excepthook__(exc_type, exc, tb)
    comm = _mpi().COMM_WORLD
    sys.stderr.write(f"[rank {comm.Get_rank()}/{comm.Get_size()}] uncaught {exc_type.__name__},"
                     " aborting the job\n")
    _end_job(comm, 1)


def init(comm: Any = None, threads: bool = True) -> Any:
    """Set up this process as a rank (idempotent); returns the communicator.

    Imports mpi4py (initialising MPI) and, on more than one rank, picks the thread count
    (``configure_threads``) and installs a ``sys.excepthook`` that aborts the job on an
    uncaught exception, so that a failing rank never leaves the others hanging.
    """
    comm = get_comm(comm)
    if _state["initialized"] or comm.Get_size() == 1:  # one process keeps its defaults
        return comm
    _state["initialized"] = True
    if threads:
        configure_threads(comm)
    sys.excepthook = _excepthook
    return comm


def run(fn: Callable[..., Any], *args: Any, comm: Any = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` as one rank of a job: ``init``, stdout kept on rank 0 only
    (the others' prints are dropped; stderr stays), and an exception aborts the job."""
    comm = init(comm)
    with abort_on_error(comm):
        if comm.Get_rank() == 0:
            return fn(*args, **kwargs)
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            return fn(*args, **kwargs)


# ---- broadcasts and the in-sync check ----------------------------------------------------------
def broadcast_parameters(
    model: Module, root: int = 0, comm: Any = None, buffers: bool = True
) -> None:
    """Copy rank ``root``'s parameters (and, with ``buffers``, batch-norm running statistics
    and other buffers) into every other rank's ``model``, in place. Call once after building
    the model, so that all ranks start from the same weights."""
    comm = get_comm(comm)
    if comm.Get_size() == 1:
        return
    for p in model.parameters():
        comm.Bcast(p.data, root=root)
    if buffers:
        broadcast_buffers(model, root, comm)


def broadcast_buffers(model: Module, root: int = 0, comm: Any = None) -> None:
    """Copy rank ``root``'s buffers (batch-norm running statistics ...) to every rank."""
    comm = get_comm(comm)
    if comm.Get_size() == 1:
        return
    for _, value in model.named_buffers():
        comm.Bcast(value, root=root)


def checksum(model: Module, optimizer: Any = None, buffers: bool = False) -> int:
    """CRC32 of every parameter (values and requires_grad), the optimizer's state (arrays and
    numbers) and, with ``buffers``, the buffers, in a fixed order: equal on every rank while
    the replicas are in sync. Buffers are left out by default: plain batch norm's running
    statistics legitimately differ between ranks until ``broadcast_buffers``."""
    crc = 0
    for name, p in model.named_parameters():
        crc = zlib.crc32(f"{name}:{p.requires_grad}".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(p.data).tobytes(), crc)
    if buffers:
        for _, value in model.named_buffers():
            crc = zlib.crc32(np.ascontiguousarray(value).tobytes(), crc)
    if optimizer is not None:
        for i, p in enumerate(optimizer._flat_params()):
            for key, value in sorted(optimizer.state.get(p, {}).items()):
                crc = zlib.crc32(f"{i}:{key}".encode(), crc)
                if isinstance(value, np.ndarray):
                    crc = zlib.crc32(np.ascontiguousarray(value).tobytes(), crc)
                else:
                    crc = zlib.crc32(repr(value).encode(), crc)
    return crc


def assert_in_sync(
    model: Module, optimizer: Any = None, comm: Any = None, buffers: bool = False
) -> None:
    """Raise RuntimeError (on every rank) unless all ranks hold bit-identical parameters and
    optimizer state (and buffers, with ``buffers``). One small allreduce: the max of the
    checksum and of its negation, i.e. its max and min."""
    comm = get_comm(comm)
    crc = checksum(model, optimizer, buffers)
    extremes = allreduce_max(np.array([crc, -crc], dtype=np.int64), comm)
    if extremes[0] != -extremes[1]:
        raise RuntimeError(
            f"replicas out of sync: parameter/optimizer checksums differ across ranks "
            f"(min {-extremes[1]}, max {extremes[0]}, rank {comm.Get_rank()} has {crc})"
        )
