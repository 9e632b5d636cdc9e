"""Threads, instruction set and build information (the run-time knobs of the compiled kernels)."""

from __future__ import annotations

import os
import platform
import warnings
from typing import Optional

import numpy as np


def _load_kernels():
    """Import the compiled extension with OpenMP's idle threads sleeping, not spinning.

    libgomp reads its wait policy once, when the extension first loads it. Its default spins
    idle threads for milliseconds after every parallel region; on a 2-core machine they steal
    the cores from NumPy's BLAS, torch or the Python between two kernels (measured, digits-CNN
    training step, 2 threads: 14 ms spinning against 5 ms passive). Unless the user chose a
    policy, load ours passive, then put the environment back so that OpenMP runtimes loaded
    later (torch's own libgomp, say) keep their defaults.
    """
    chosen = "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ
    if not chosen:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        from . import _kernels
    finally:
        if not chosen:
            del os.environ["OMP_WAIT_POLICY"]
    return _kernels


_kernels = _load_kernels()


def set_num_threads(n: Optional[int]) -> None:
    """Use ``n`` threads in convcore's kernels (``None``: back to the default).

    The default is worked out on every call, as scikit-learn does: OpenMP's maximum, i.e.
    ``OMP_NUM_THREADS`` if set, else the number of usable cores, and any
    ``threadpoolctl.threadpool_limits(..., user_api="openmp")`` in force. This changes
    convcore's count only, not NumPy's BLAS.
    """
    if n is None:
        _kernels.set_user_n_threads(0)
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
    _kernels.set_user_n_threads(int(n))


def get_num_threads() -> int:
    """The number of threads the next kernel call will use (1 when built without OpenMP)."""
    return _kernels.n_threads()


def set_winograd(mode: str) -> None:
    """When float32 3x3 stride-1 convolutions use Winograd F(2x2, 3x3): ``"auto"`` (default:
    when C >= 16 and K >= 8, where it is measured faster), ``"never"`` (always the direct
    engine: the results of the GEMM algorithm, a little more rounding-stable for huge C), or
    ``"always"`` (whenever the shape allows). Forward passes and the data gradient (a forward
    convolution of grad_y) follow it. Also set by ``CONVCORE_WINOGRAD`` at import.
    """
    if mode not in ("auto", "never", "always"):
        raise ValueError(f"set_winograd: mode must be 'auto', 'never' or 'always', got {mode!r}")
    _kernels.set_conv_winograd(mode)


def get_winograd() -> str:
    """The Winograd mode in force (see set_winograd)."""
    return _kernels.get_conv_winograd()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_info() -> dict:
    """How this convcore was built and what it runs on.

    Keys: ``version``, ``compiler``, ``openmp`` (bool), ``isas_compiled``, ``isas_available``
    (compiled and runnable on this CPU), ``isa`` (in use now), ``num_threads``, ``cpu``,
    ``winograd`` (see set_winograd), ``cores``, ``numpy``, ``python``.
    """
    from . import __version__

    return {
        "version": __version__,
        "compiler": _kernels.compiler(),
        "openmp": _kernels.openmp_enabled(),
        "isas_compiled": _kernels.compiled_isas(),
        "isas_available": _kernels.available_isas(),
        "isa": _kernels.isa(),
        "num_threads": get_num_threads(),
        "winograd": get_winograd(),
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _apply_isa_from_environment() -> None:
    """Honour CONVCORE_ISA=scalar|avx2|avx512; an ISA this CPU can't run is refused, not used."""
    wanted = os.environ.get("CONVCORE_ISA", "").strip().lower()
    if not wanted:
        return
    try:
        _kernels.set_isa(wanted)
    except ValueError as err:
        warnings.warn(f"CONVCORE_ISA ignored: {err}; using {_kernels.isa()!r}", stacklevel=3)


def _apply_winograd_from_environment() -> None:
    wanted = os.environ.get("CONVCORE_WINOGRAD", "").strip().lower()
    if not wanted:
        return
    try:
        set_winograd(wanted)
    except ValueError as err:
        warnings.warn(f"CONVCORE_WINOGRAD ignored: {err}", stacklevel=3)


_apply_isa_from_environment()
_apply_winograd_from_environment()
