"""Weight initialisers, as ``torch.nn.init``, filling a Parameter or ndarray in place.

Each takes ``rng`` (None, an int seed or a ``np.random.Generator``) and returns the filled array.
Fan-in/out follow PyTorch: for a weight of shape (out, in, *kernel),
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.
The names without the trailing underscore are aliases.
"""

from __future__ import annotations

import math
from typing import Any, Tuple, Union

import numpy as np

__all__ = [
    "calculate_gain",
    "kaiming_uniform_",
    "kaiming_normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "uniform_",
    "zeros_",
    "ones_",
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
    "uniform",
    "zeros",
    "ones",
]

ArrayLike = Any  # an ndarray, or a convcore.nn.Parameter (anything with an ndarray ``.data``)
RNG = Union[None, int, np.random.Generator]


def as_generator(rng: RNG) -> np.random.Generator:
    """A Generator from ``rng``: None (fresh entropy), an int seed, or a Generator (shared)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}")


def _array(tensor: ArrayLike) -> np.ndarray:
    array = tensor if isinstance(tensor, np.ndarray) else getattr(tensor, "data", tensor)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"tensor must be an ndarray or Parameter, got {type(tensor).__name__}")
    return array


def _fans(array: np.ndarray) -> Tuple[int, int]:
    if array.ndim < 2:
        raise ValueError(f"fan in/out need a tensor with >= 2 dims, got shape {array.shape}")
    receptive = int(np.prod(array.shape[2:])) if array.ndim > 2 else 1
    return array.shape[1] * receptive, array.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float = None) -> float:
    """The recommended gain of ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fill_uniform(array: np.ndarray, bound: float, rng: RNG) -> np.ndarray:
    array[...] = as_generator(rng).uniform(-bound, bound, size=array.shape)
    return array


def uniform_(tensor: ArrayLike, a: float = 0.0, b: float = 1.0, rng: RNG = None) -> np.ndarray:
    """Fill with U(a, b)."""
    array = _array(tensor)
    array[...] = as_generator(rng).uniform(a, b, size=array.shape)
    return array


def _kaiming_fan(array: np.ndarray, mode: str) -> int:
    """fan_in (preserves the forward's variance) or fan_out (the backward's), as PyTorch."""
    fan_in, fan_out = _fans(array)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(
    tensor: ArrayLike,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: RNG = None,
) -> np.ndarray:
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan). PyTorch layers use a=sqrt(5)."""
    array = _array(tensor)
    gain = calculate_gain(nonlinearity, a)
    return _fill_uniform(array, gain * math.sqrt(3.0 / _kaiming_fan(array, mode)), rng)


def kaiming_normal_(
    tensor: ArrayLike,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: RNG = None,
) -> np.ndarray:
    """He normal: N(0, std^2), std = gain / sqrt(fan)."""
    array = _array(tensor)
    std = calculate_gain(nonlinearity, a) / math.sqrt(_kaiming_fan(array, mode))
    array[...] = as_generator(rng).normal(0.0, std, size=array.shape)
    return array


def xavier_uniform_(tensor: ArrayLike, gain: float = 1.0, rng: RNG = None) -> np.ndarray:
    """Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    array = _array(tensor)
    fan_in, fan_out = _fans(array)
    return _fill_uniform(array, gain * math.sqrt(6.0 / (fan_in + fan_out)), rng)


def xavier_normal_(tensor: ArrayLike, gain: float = 1.0, rng: RNG = None) -> np.ndarray:
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    array = _array(tensor)
    fan_in, fan_out = _fans(array)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    array[...] = as_generator(rng).normal(0.0, std, size=array.shape)
    return array


def zeros_(tensor: ArrayLike) -> np.ndarray:
    array = _array(tensor)
    array[...] = 0
    return array


def ones_(tensor: ArrayLike) -> np.ndarray:
    array = _array(tensor)
    array[...] = 1
    return array


def default_weight_bias_(weight: Any, bias: Any, rng: np.random.Generator) -> None:
    """PyTorch's default Conv/Linear init: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
    kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        fan_in, _ = _fans(weight.data)
        _fill_uniform(bias.data, 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0, rng)


kaiming_uniform = kaiming_uniform_
kaiming_normal = kaiming_normal_
xavier_uniform = xavier_uniform_
xavier_normal = xavier_normal_
uniform = uniform_
zeros = zeros_
ones = ones_
