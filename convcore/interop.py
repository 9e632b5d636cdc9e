"""Convert models between convcore and PyTorch, weights and batch-norm statistics included.

``from_torch(module)`` and ``to_torch(model)`` support: Sequential, Conv2d (zero padding),
Linear, MaxPool2d (dilation 1, no ceil_mode), AvgPool2d (no ceil_mode / divisor_override),
AdaptiveAvgPool2d(1) <-> GlobalAvgPool2d, BatchNorm2d/1d (affine, tracking stats), Flatten,
Dropout, ReLU, LeakyReLU, ELU, Sigmoid, Tanh; convcore's Maxout and Residual map to the small
torch modules ``TorchMaxout`` / ``TorchResidual`` made here (and back). Train/eval modes are
copied. torch is imported only when a function is called. Anything else raises TypeError.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import nn

__all__ = ["from_torch", "to_torch", "torch_classes"]


@functools.cache
def torch_classes():
    """(TorchMaxout, TorchResidual): torch equivalents of convcore's Maxout and Residual."""
    import torch

    class TorchMaxout(torch.nn.Module):
        """Max over groups of ``pieces`` consecutive channels (dim 1)."""

        def __init__(self, pieces: int) -> None:
            super().__init__()
            self.pieces = pieces

        def forward(self, x):
            n, c = x.shape[:2]
            return x.reshape(n, c // self.pieces, self.pieces, *x.shape[2:]).max(dim=2).values

    class TorchResidual(torch.nn.Module):
        """block(x) + shortcut(x), identity shortcut when None."""

        def __init__(self, block, shortcut=None) -> None:
            super().__init__()
            self.block = block
            self.shortcut = shortcut

        def forward(self, x):
            return self.block(x) + (x if self.shortcut is None else self.shortcut(x))

    return TorchMaxout, TorchResidual


def _torch_dtype(dtype: np.dtype):
    import torch

    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _to_torch_tree(model: nn.Module):
    import torch

    tnn = torch.nn
    TorchMaxout, TorchResidual = torch_classes()
    kind = type(model)
    if kind is nn.Sequential:
        return tnn.Sequential(*[_to_torch_tree(layer) for layer in model.layers])
    if kind is nn.Residual:
        shortcut = None if model.shortcut is None else _to_torch_tree(model.shortcut)
        return TorchResidual(_to_torch_tree(model.block), shortcut)
    if kind is nn.Conv2d:
        return tnn.Conv2d(
            model.in_channels,
            model.out_channels,
            model.kernel_size,
            model.stride,
            model.padding,
            model.dilation,
            model.groups,
            model.bias is not None,
            dtype=_torch_dtype(model.dtype),
        )
    if kind is nn.Linear:
        return tnn.Linear(
            model.in_features,
            model.out_features,
            model.bias is not None,
            dtype=_torch_dtype(model.dtype),
        )
    if kind in (nn.BatchNorm2d, nn.BatchNorm1d):
        cls = tnn.BatchNorm2d if kind is nn.BatchNorm2d else tnn.BatchNorm1d
        return cls(model.num_features, model.eps, model.momentum, dtype=_torch_dtype(model.dtype))
    if kind is nn.MaxPool2d:
        return tnn.MaxPool2d(model.kernel_size, model.stride, model.padding)
    if kind is nn.AvgPool2d:
        return tnn.AvgPool2d(
            model.kernel_size,
            model.stride,
            model.padding,
            count_include_pad=model.count_include_pad,
        )
    simple = {
        nn.GlobalAvgPool2d: lambda m: tnn.AdaptiveAvgPool2d(1),
        nn.Flatten: lambda m: tnn.Flatten(m.start_dim),
        nn.Dropout: lambda m: tnn.Dropout(m.p),
        nn.ReLU: lambda m: tnn.ReLU(),
        nn.LeakyReLU: lambda m: tnn.LeakyReLU(m.negative_slope),
        nn.ELU: lambda m: tnn.ELU(m.alpha),
        nn.Sigmoid: lambda m: tnn.Sigmoid(),
        nn.Tanh: lambda m: tnn.Tanh(),
        nn.Maxout: lambda m: TorchMaxout(m.pieces),
    }
    if kind in simple:
        return simple[kind](model)
    raise TypeError(f"to_torch: unsupported layer {kind.__name__}")


def to_torch(model: nn.Module):
    """The equivalent ``torch.nn.Module``, with the same weights, statistics and modes."""
    import torch

    tmodel = _to_torch_tree(model)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    tmodel.load_state_dict(state, strict=True)
    for m, tm in zip(model.modules(), tmodel.modules()):
        tm.training = m.training
    return tmodel


def _pair(value: Any):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _np_dtype(tmodule) -> Any:
    import torch

    for p in tmodule.parameters(recurse=False):
        if p.dtype == torch.float64:
            return np.float64
        if p.dtype != torch.float32:
            raise TypeError(f"from_torch: unsupported dtype {p.dtype} in {type(tmodule).__name__}")
    return np.float32


def _from_torch_tree(tm) -> nn.Module:
    import torch

    tnn = torch.nn
    TorchMaxout, TorchResidual = torch_classes()
    name = type(tm).__name__
    if type(tm) is tnn.Sequential:
        return nn.Sequential(*[_from_torch_tree(layer) for layer in tm])
    if isinstance(tm, TorchResidual):
        shortcut = None if tm.shortcut is None else _from_torch_tree(tm.shortcut)
        return nn.Residual(_from_torch_tree(tm.block), shortcut)
    if isinstance(tm, TorchMaxout):
        return nn.Maxout(tm.pieces)
    if type(tm) is tnn.Conv2d:
        if isinstance(tm.padding, str) or tm.padding_mode != "zeros":
            raise TypeError(
                f"from_torch: Conv2d padding {tm.padding!r}/{tm.padding_mode!r} "
                "unsupported (numeric zero padding only)"
            )
        return nn.Conv2d(
            tm.in_channels,
            tm.out_channels,
            tm.kernel_size,
            tm.stride,
            tm.padding,
            tm.dilation,
            tm.groups,
            tm.bias is not None,
            dtype=_np_dtype(tm),
            rng=0,
        )
    if type(tm) is tnn.Linear:
        return nn.Linear(
            tm.in_features, tm.out_features, tm.bias is not None, dtype=_np_dtype(tm), rng=0
        )
    if type(tm) in (tnn.BatchNorm2d, tnn.BatchNorm1d):
        if not (tm.affine and tm.track_running_stats) or tm.momentum is None:
            raise TypeError(
                f"from_torch: {name} needs affine=True, track_running_stats=True "
                "and a numeric momentum"
            )
        cls = nn.BatchNorm2d if type(tm) is tnn.BatchNorm2d else nn.BatchNorm1d
        return cls(tm.num_features, tm.eps, tm.momentum, dtype=_np_dtype(tm))
    if type(tm) is tnn.MaxPool2d:
        if tm.ceil_mode or _pair(tm.dilation) != (1, 1) or tm.return_indices:
            raise TypeError("from_torch: MaxPool2d with ceil_mode, dilation or return_indices")
        return nn.MaxPool2d(_pair(tm.kernel_size), _pair(tm.stride), _pair(tm.padding))
    if type(tm) is tnn.AvgPool2d:
        if tm.ceil_mode or tm.divisor_override is not None:
            raise TypeError("from_torch: AvgPool2d with ceil_mode or divisor_override")
        return nn.AvgPool2d(
            _pair(tm.kernel_size), _pair(tm.stride), _pair(tm.padding), tm.count_include_pad
        )
    if type(tm) is tnn.AdaptiveAvgPool2d:
        if _pair(tm.output_size) != (1, 1):
            raise TypeError(f"from_torch: AdaptiveAvgPool2d({tm.output_size}) (only 1 is)")
        return nn.GlobalAvgPool2d()
    if type(tm) is tnn.Flatten:
        if tm.end_dim != -1:
            raise TypeError("from_torch: Flatten with end_dim != -1")
        return nn.Flatten(tm.start_dim)
    simple = {
        tnn.Dropout: lambda m: nn.Dropout(m.p),
        tnn.ReLU: lambda m: nn.ReLU(),
        tnn.LeakyReLU: lambda m: nn.LeakyReLU(m.negative_slope),
        tnn.ELU: lambda m: nn.ELU(m.alpha),
        tnn.Sigmoid: lambda m: nn.Sigmoid(),
        tnn.Tanh: lambda m: nn.Tanh(),
    }
    if type(tm) in simple:
        return simple[type(tm)](tm)
    raise TypeError(f"from_torch: unsupported torch module {name}")


def from_torch(module) -> nn.Module:
    """The equivalent convcore model of a ``torch.nn.Module`` built from supported layers,
    with its weights, batch-norm statistics and train/eval modes."""
    model = _from_torch_tree(module)
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    model.load_state_dict(state, strict=True)
    for m, tm in zip(model.modules(), module.modules()):
        m.training = tm.training
    return model
