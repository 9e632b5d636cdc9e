"""Argument checking shared by ``convcore.reference`` and ``convcore.functional``.

Every public op validates its arguments here, once, before any computation: the compiled
kernels trust what they are given. The checks raise

- ``TypeError`` for a wrong *kind* of argument (not an ndarray, an unsupported dtype, mixed
  dtypes, a float where an int is expected), and
- ``ValueError`` for a wrong *value* (bad shape, non-positive stride, output size < 1, ...),

always naming the argument and, for shapes, the expected and the actual shape. Checks return
the normalised values (pairs of ints, output sizes) so callers never re-derive them.

Dimension legend: N batch, C in-channels, K out-channels, H x W input, P x Q output,
R x S filter (kernel), G groups.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple, Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------------------------
# Arrays and dtypes
# --------------------------------------------------------------------------------------------

def check_array(name: str, a: object, ndim: int | None = None, layout: str = "") -> np.ndarray:
    """Check that ``a`` is a float32/float64 ndarray (of ``ndim`` dimensions if given).

    ``layout`` (e.g. ``"(N, C, H, W)"``) is only used to make the ndim error readable.
    Returns ``a`` unchanged (never copied, never modified).
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray of float32 or float64, got {type(a).__name__}"
        )
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        expected = f"{ndim}-D {layout}".rstrip()
        raise ValueError(f"{name} must be {expected}, got {a.ndim}-D array of shape {a.shape}")
    return a


def check_same_dtype(**arrays: np.ndarray | None) -> np.dtype:
    """Check that all given (non-None) arrays share one dtype and return it.

    >>> check_same_dtype(x=x, weight=w, bias=None)
    """
    present = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in present.values()}
    if len(dtypes) != 1:
        got = ", ".join(f"{name} {a.dtype}" for name, a in present.items())
        raise TypeError(f"all array arguments must share one dtype, got {got}")
    return dtypes.pop()


def check_shape(name: str, a: np.ndarray, expected: Sequence[int]) -> None:
    """Check ``a.shape == expected`` (used for gradients, biases, running statistics)."""
    if tuple(a.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got shape {a.shape}")


def check_shape_tuple(name: str, shape: object, ndim: int) -> tuple[int, ...]:
    """Check a shape argument (e.g. ``x_shape`` of a backward): a tuple of ``ndim`` ints >= 0."""
    if not isinstance(shape, (tuple, list)) or len(shape) != ndim:
        raise ValueError(f"{name} must be a tuple of {ndim} ints, got {shape!r}")
    return tuple(check_int(f"{name}[{i}]", s, 0) for i, s in enumerate(shape))


# --------------------------------------------------------------------------------------------
# Scalars and hyper-parameters
# --------------------------------------------------------------------------------------------

def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: object, min_value: int) -> int:
    """Check an int hyper-parameter (bools and floats are refused) and return it as ``int``."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}")
    return int(value)


def check_bool(name: str, value: object) -> bool:
    """Check a flag (``training``, ``count_include_pad``, ...): a bool or numpy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_float(name: str, value: object, low: float, high: float, high_inclusive: bool = True
                ) -> float:
    """Check a real number in ``[low, high]`` (or ``[low, high)``) and return it as ``float``."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = low <= value <= high if high_inclusive else low <= value < high
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value}")
    return value


# Kernel sizes, strides, paddings and dilations reach the C kernels as C ints (and NumPy slices
# as C longs): larger values would raise OverflowError there instead of a clear ValueError here.
MAX_HYPER_PARAMETER = 2**31 - 1


def pair(name: str, value: object, min_value: int) -> tuple[int, int]:
    """Normalise an int-or-pair hyper-parameter to ``(height, width)``.

    ``pair("stride", 2, 1) == (2, 2)``; ``pair("padding", (1, 0), 0) == (1, 0)``.
    Raises ValueError for a value below ``min_value``, above ``MAX_HYPER_PARAMETER`` or a tuple
    of the wrong length, TypeError for bools, floats and other non-ints.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        items = tuple(value)
    elif _is_int(value):
        items = (value, value)
    else:
        raise TypeError(
            f"{name} must be an int or a pair of ints, got {type(value).__name__} {value!r}"
        )
    for item in items:
        if not _is_int(item):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
        if item < min_value:
            raise ValueError(f"{name} must be >= {min_value}, got {value!r}")
        if item > MAX_HYPER_PARAMETER:
            raise ValueError(f"{name} must be <= {MAX_HYPER_PARAMETER}, got {value!r}")
    return int(items[0]), int(items[1])


def check_activation(activation: object) -> str | None:
    """The fused activations: None or "relu"."""
    if activation not in (None, "relu"):
        raise ValueError(f'activation must be None or "relu", got {activation!r}')
    return activation


def check_axis(axis: object, ndim: int) -> int:
    """Normalise an axis (negative counts from the end) for an array of ``ndim`` dimensions."""
    if not _is_int(axis):
        raise TypeError(f"axis must be an int, got {type(axis).__name__} {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {ndim} dimensions")
    return int(axis) % ndim


def check_rng(rng: object) -> np.random.Generator:
    """``None`` (fresh entropy), an int seed or a ``np.random.Generator``."""
    if rng is None or _is_int(rng):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {rng!r}")


# --------------------------------------------------------------------------------------------
# Output sizes
# --------------------------------------------------------------------------------------------

def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis.

    ``floor((n + 2p - d(k-1) - 1) / s) + 1``; ValueError when it is < 1, i.e. when the
    (dilated) kernel is larger than the padded input.
    """
    n = check_int("n", n, 0)
    kernel = check_int("kernel", kernel, 1)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    out = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(
            f"output size {out} < 1: kernel {kernel} (dilation {dilation}, effective "
            f"{dilation * (kernel - 1) + 1}) is larger than the padded input "
            f"{n} + 2*{padding} = {n + 2 * padding}"
        )
    return out


def _output_hw(op: str, x_shape: tuple, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    """(P, Q) for an NCHW input, with an error naming the op, the axis and the shapes."""
    out = []
    for axis, n, k, s, p, d in zip(("height", "width"), x_shape[2:], kernel, stride, padding,
                                   dilation):
        effective = d * (k - 1) + 1
        if effective > n + 2 * p:
            raise ValueError(
                f"{op}: output size < 1 along {axis}: kernel {kernel} (dilation {dilation}, "
                f"effective {effective}) is larger than the padded input {n} + 2*{p} = "
                f"{n + 2 * p} (x shape {tuple(x_shape)}, padding {padding})"
            )
        out.append((n + 2 * p - effective) // s + 1)
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------

class ConvArgs(NamedTuple):
    """Normalised conv2d hyper-parameters and the output size (P, Q)."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    out_hw: tuple[int, int]


def check_conv2d(x: object, weight: object, bias: object = None, stride: object = 1,
                 padding: object = 0, dilation: object = 1, groups: object = 1) -> ConvArgs:
    """Check a conv2d call: x (N, C, H, W), weight (K, C/G, R, S), bias (K,) or None."""
    check_array("x", x, 4, "(N, C, H, W)")
    check_array("weight", weight, 4, "(out_channels, in_channels // groups, kH, kW)")
    if bias is not None:
        check_array("bias", bias, 1, "(out_channels,)")
    check_same_dtype(x=x, weight=weight, bias=bias)
    stride = pair("stride", stride, 1)
    padding = pair("padding", padding, 0)
    dilation = pair("dilation", dilation, 1)
    groups = check_int("groups", groups, 1)
    n_in, n_out = x.shape[1], weight.shape[0]
    if n_in % groups:
        raise ValueError(f"groups={groups} must divide in_channels={n_in} (x shape {x.shape})")
    if n_out % groups:
        raise ValueError(
            f"groups={groups} must divide out_channels={n_out} (weight shape {weight.shape})"
        )
    if weight.shape[1] * groups != n_in:
        raise ValueError(
            f"channel mismatch: weight shape {weight.shape} with groups={groups} expects "
            f"{weight.shape[1] * groups} input channels, but x shape {x.shape} has {n_in}"
        )
    if 0 in weight.shape[2:]:
        raise ValueError(f"weight must have a non-empty kernel, got shape {weight.shape}")
    if bias is not None:
        check_shape("bias", bias, (n_out,))
    out_hw = _output_hw("conv2d", x.shape, weight.shape[2:], stride, padding, dilation)
    return ConvArgs(stride, padding, dilation, groups, out_hw)


CONV_GRADS = ("x", "weight", "bias")


def check_conv2d_backward(grad_y: object, x: object, weight: object, stride: object = 1,
                          padding: object = 0, dilation: object = 1, groups: object = 1,
                          needs: object = CONV_GRADS) -> tuple[ConvArgs, frozenset]:
    """Check a conv2d_backward call; returns the ConvArgs and the set of gradients needed."""
    args = check_conv2d(x, weight, None, stride, padding, dilation, groups)
    check_array("grad_y", grad_y, 4, "(N, K, P, Q)")
    check_same_dtype(grad_y=grad_y, x=x, weight=weight)
    check_shape("grad_y", grad_y, (x.shape[0], weight.shape[0], *args.out_hw))
    if not isinstance(needs, (tuple, list, set, frozenset)) or not all(
            n in CONV_GRADS for n in needs):
        raise ValueError(f"needs must be a subset of {CONV_GRADS}, got {needs!r}")
    return args, frozenset(needs)


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------

class PoolArgs(NamedTuple):
    """Normalised pooling hyper-parameters and the output size (P, Q)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    out_hw: tuple[int, int]


def check_pool2d(op: str, x_shape: tuple, kernel_size: object, stride: object = None,
                 padding: object = 0) -> PoolArgs:
    """Check pooling hyper-parameters for an NCHW input shape (stride None = kernel_size).

    As in PyTorch, padding may be at most half the kernel, so no window is all padding.
    """
    kernel = pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else pair("stride", stride, 1)
    padding = pair("padding", padding, 0)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise ValueError(
                f"{op}: padding {padding} must be at most half the kernel size {kernel}"
            )
    out_hw = _output_hw(op, x_shape, kernel, stride, padding, (1, 1))
    return PoolArgs(kernel, stride, padding, out_hw)


def check_pool_indices(indices: object, y_shape: tuple, plane_size: int) -> np.ndarray:
    """Check max-pool indices: integer array of the output's shape, values in [0, H*W)."""
    if not isinstance(indices, np.ndarray) or not np.issubdtype(indices.dtype, np.integer):
        got = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise TypeError(f"indices must be an integer numpy.ndarray, got {got}")
    check_shape("indices", indices, y_shape)
    if indices.size and (indices.min() < 0 or indices.max() >= plane_size):
        raise ValueError(f"indices must be in [0, H*W) = [0, {plane_size})")
    return indices


# --------------------------------------------------------------------------------------------
# Batch norm
# --------------------------------------------------------------------------------------------

def check_batch_norm(x: object, gamma: object, beta: object, running_mean: object,
                     running_var: object, training: bool, momentum: object, eps: object,
                     activation: object, ndim: int) -> tuple[float, float]:
    """Check a batch norm forward (``ndim`` 4 for batch_norm2d, 2 for batch_norm1d).

    Returns ``(momentum, eps)`` as floats. Training needs more than one value per channel;
    eval needs the running statistics.
    """
    layout = "(N, C, H, W)" if ndim == 4 else "(N, C)"
    check_array("x", x, ndim, layout)
    check_bool("training", training)
    n_channels = x.shape[1]
    arrays = {"gamma": gamma, "beta": beta, "running_mean": running_mean,
              "running_var": running_var}
    for name, a in arrays.items():
        if a is None and name in ("running_mean", "running_var"):
            continue
        check_array(name, a, 1, "(C,)")
        check_shape(name, a, (n_channels,))
    check_same_dtype(x=x, **arrays)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must be given together")
    if not training and running_mean is None:
        raise ValueError("eval mode (training=False) needs running_mean and running_var")
    if training and running_mean is not None:
        for name in ("running_mean", "running_var"):
            if not arrays[name].flags.writeable:
                raise ValueError(
                    f"{name} must be writeable in training mode (it is updated in place), "
                    "got a read-only array"
                )
    if training and x.size // max(n_channels, 1) <= 1:
        raise ValueError(
            f"training mode needs more than 1 value per channel, got x shape {x.shape}"
        )
    momentum = check_float("momentum", momentum, 0.0, 1.0)
    eps = check_float("eps", eps, 0.0, float("inf"))
    check_activation(activation)
    return momentum, eps


def check_batch_norm_backward(grad_y: object, x: object, gamma: object, save_mean: object,
                              save_invstd: object, y: object, activation: object,
                              ndim: int) -> None:
    """Check a batch norm backward; ``y`` (the forward output) is required for a fused ReLU."""
    layout = "(N, C, H, W)" if ndim == 4 else "(N, C)"
    check_array("x", x, ndim, layout)
    check_array("grad_y", grad_y, ndim, layout)
    check_shape("grad_y", grad_y, x.shape)
    for name, a in (("gamma", gamma), ("save_mean", save_mean), ("save_invstd", save_invstd)):
        check_array(name, a, 1, "(C,)")
        check_shape(name, a, (x.shape[1],))
    if check_activation(activation) == "relu":
        if y is None:
            raise ValueError('activation="relu" needs y, the forward output')
    if y is not None:
        check_array("y", y)
        check_shape("y", y, x.shape)
    check_same_dtype(grad_y=grad_y, x=x, gamma=gamma, save_mean=save_mean,
                     save_invstd=save_invstd, y=y)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------

def check_class_target(target: object, logits: np.ndarray) -> np.ndarray:
    """Check class indices for logits (N, C): an integer ndarray (N,) with values in [0, C)."""
    if not isinstance(target, np.ndarray):
        raise TypeError(
            f"target must be a numpy.ndarray of integer class indices, got {type(target).__name__}"
        )
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target must have an integer dtype, got dtype {target.dtype}")
    n, n_classes = logits.shape
    check_shape("target", target, (n,))
    if n == 0:
        raise ValueError("cross_entropy of an empty batch (N == 0) is undefined")
    low, high = target.min(), target.max()
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"target value {bad} is out of range for {n_classes} classes (logits shape "
            f"{logits.shape}): expected 0 <= target < {n_classes}"
        )
    return target


def check_linear(x, weight, bias=None) -> None:
    """Check linear's x (N, I), weight (O, I) and bias (O,) or None."""
    check_array("x", x, 2, "(N, in_features)")
    check_array("weight", weight, 2, "(out_features, in_features)")
    if bias is not None:
        check_array("bias", bias, 1, "(out_features,)")
    check_same_dtype(x=x, weight=weight, bias=bias)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"feature mismatch: weight shape {weight.shape} expects {weight.shape[1]} input "
            f"features, but x shape {x.shape} has {x.shape[1]}"
        )
    if bias is not None:
        check_shape("bias", bias, (weight.shape[0],))
