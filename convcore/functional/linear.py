"""linear: currently the NumPy reference; replaced by compiled wrappers (same signatures)."""

from ..reference.linear import (
    linear,
    linear_backward,
)

__all__ = [
    "linear",
    "linear_backward",
]
