"""conv: currently the NumPy reference; replaced by compiled wrappers (same signatures)."""

from ..reference.conv import (
    conv2d,
    conv2d_backward,
    conv_output_size,
)

__all__ = [
    "conv2d",
    "conv2d_backward",
    "conv_output_size",
]
