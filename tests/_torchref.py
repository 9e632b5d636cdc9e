"""Shared helpers of the reference tests: torch conversion and dtype-aware comparison."""

from __future__ import annotations

import numpy as np

from convcore.testing import assert_close, default_tolerances

DTYPES = [np.float32, np.float64]


def tensor(torch, a: np.ndarray, requires_grad: bool = False):
    """A torch tensor holding a copy of ``a`` (same dtype)."""
    return torch.tensor(np.array(a), requires_grad=requires_grad)


def assert_like_torch(actual: np.ndarray, expected, scale: float | None = None) -> None:
    """Compare with a torch result: dtype must match, tolerance by dtype (fp64 ~1e-10, fp32
    ~1e-4), the absolute part scaled by the magnitude of the expected values."""
    if hasattr(expected, "detach"):
        expected = expected.detach().numpy()
    assert isinstance(actual, np.ndarray), type(actual)
    rtol, atol = default_tolerances(actual.dtype)
    if scale is None:
        scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    assert_close(actual, expected, rtol=rtol, atol=atol * scale)
