"""Shared fixtures: run compiled-kernel tests on every ISA this CPU can execute."""

import numpy as np
import pytest

from convcore import _kernels

ALL_ISAS = ("scalar", "avx2", "avx512")


@pytest.fixture(params=ALL_ISAS)
def isa(request):
    """Select each ISA's kernels in turn; the ones this CPU can't run are skipped, visibly."""
    if request.param not in _kernels.available_isas():
        pytest.skip(f"{request.param} kernels can't run on this CPU "
                    f"(runnable: {_kernels.available_isas()})")
    previous = _kernels.isa()
    _kernels.set_isa(request.param)
    yield request.param
    _kernels.set_isa(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
