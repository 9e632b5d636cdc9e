"""convcore.nn: PyTorch-shaped layers with explicit backward over convcore.functional."""

from .containers import Residual, Sequential
from .conv import Conv2d, Linear
from .layers import ELU, Dropout, Flatten, LeakyReLU, Maxout, ReLU, Sigmoid, Tanh
from .loss import CrossEntropyLoss, MSELoss
from .module import (
    Module,
    Parameter,
    get_backend,
    is_grad_enabled,
    no_grad,
    set_backend,
    use_backend,
)
from .norm import BatchNorm1d, BatchNorm2d
from .pool import AvgPool2d, GlobalAvgPool2d, MaxPool2d

__all__ = [
    "Module",
    "Parameter",
    "Sequential",
    "Residual",
    "Conv2d",
    "Linear",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm2d",
    "BatchNorm1d",
    "Flatten",
    "Dropout",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Sigmoid",
    "Tanh",
    "Maxout",
    "CrossEntropyLoss",
    "MSELoss",
    "use_backend",
    "set_backend",
    "get_backend",
    "no_grad",
    "is_grad_enabled",
]
