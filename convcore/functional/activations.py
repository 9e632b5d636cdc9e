"""activations: currently the NumPy reference; replaced by compiled wrappers (same signatures)."""

from ..reference.activations import (
    dropout,
    dropout_backward,
    elu,
    elu_backward,
    leaky_relu,
    leaky_relu_backward,
    maxout,
    maxout_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "elu",
    "elu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "maxout",
    "maxout_backward",
    "dropout",
    "dropout_backward",
]
