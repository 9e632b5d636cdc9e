"""norm: currently the NumPy reference; replaced by compiled wrappers (same signatures)."""

from ..reference.norm import (
    batch_norm1d,
    batch_norm1d_backward,
    batch_norm2d,
    batch_norm2d_backward,
)

__all__ = [
    "batch_norm2d",
    "batch_norm2d_backward",
    "batch_norm1d",
    "batch_norm1d_backward",
]
