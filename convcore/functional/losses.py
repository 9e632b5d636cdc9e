"""losses: currently the NumPy reference; replaced by compiled wrappers (same signatures)."""

from ..reference.losses import (
    cross_entropy,
    cross_entropy_backward,
    log_softmax,
    log_softmax_backward,
    mse_loss,
    mse_loss_backward,
    softmax,
    softmax_backward,
)

__all__ = [
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "mse_loss",
    "mse_loss_backward",
]
