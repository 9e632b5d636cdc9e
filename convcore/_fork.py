"""Fork safety: a child forked after convcore's OpenMP pool ran uses one kernel thread.

GNU libgomp (gcc's OpenMP runtime) does not survive ``fork()``: the child inherits the record
of the parent's worker threads but not the threads, so its next multi-threaded parallel region
waits for them forever (measured here: the child hangs on its first 2-thread kernel, a 1-thread
region is fine). So in every forked child convcore drops to one thread. A child that wants more
should be started with the ``spawn`` or ``forkserver`` multiprocessing method instead (calling
``set_num_threads(n > 1)`` in a forked child brings the hang back if the parent ran kernels).
"""

from __future__ import annotations

import os

from . import _kernels


def _one_thread_in_child() -> None:
    _kernels.set_user_n_threads(1)


if hasattr(os, "register_at_fork"):      # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_one_thread_in_child)
