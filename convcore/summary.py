"""summary(model, input_shape) -> str: a Keras-style table of layers, shapes, params, FLOPs.

Use ``print(convcore.summary(model, (1, 28, 28)))``. ``input_shape`` excludes the batch
dimension. Shapes come from a real forward pass on one zero image (eval mode, no caches; the
model's modes are restored). FLOPs are per image, a multiply-add counting as 2: conv and
linear count their multiply-adds (+ bias), pooling one op per window element, batch norm 2
per element (scale and shift), activations and dropout 1 per element, reshapes 0.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from . import nn
from .nn.module import Module, no_grad

__all__ = ["summary", "layer_flops"]

Row = Tuple[str, str, Tuple[int, ...], int, int]


def layer_flops(layer: Module, in_shape: Tuple[int, ...], out_shape: Tuple[int, ...]) -> int:
    """FLOPs of ``layer`` for one input of shape ``in_shape`` (batch dim included, N = 1)."""
    out_elems = int(np.prod(out_shape[1:]))
    if isinstance(layer, nn.Conv2d):
        r, s = layer.kernel_size
        macs = out_elems * (layer.in_channels // layer.groups) * r * s
        return 2 * macs + (out_elems if layer.bias is not None else 0)
    if isinstance(layer, nn.Linear):
        rows = int(np.prod(out_shape[1:-1])) if len(out_shape) > 2 else 1
        macs = rows * layer.in_features * layer.out_features
        return 2 * macs + (rows * layer.out_features if layer.bias is not None else 0)
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        r, s = layer.kernel_size
        return out_elems * r * s
    if isinstance(layer, nn.GlobalAvgPool2d):
        return int(np.prod(in_shape[1:]))
    if isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm1d)):
        return 2 * out_elems
    if isinstance(layer, nn.Flatten):
        return 0
    if isinstance(layer, nn.Maxout):
        return int(np.prod(in_shape[1:]))
    return out_elems


def _n_params(module: Module) -> Tuple[int, int]:
    total = trainable = 0
    for p in module.parameters():
        total += p.size
        trainable += p.size if p.requires_grad else 0
    return total, trainable


def _trace(module: Module, x: np.ndarray, name: str, depth: int, rows: List[Row]) -> np.ndarray:
    indent = "  " * depth
    if isinstance(module, nn.Sequential):
        for i, layer in enumerate(module.layers):
            x = _trace(layer, x, f"{name}.{i}" if name else str(i), depth, rows)
        return x
    if isinstance(module, nn.Residual):
        rows.append((indent + (name or "residual"), "Residual", (), 0, 0))
        y = _trace(module.block, x, name + ".block", depth + 1, rows)
        if module.shortcut is None:
            s = x
        else:
            s = _trace(module.shortcut, x, name + ".shortcut", depth + 1, rows)
        out = y + s
        rows.append((indent + "  (add)", "", out.shape, 0, int(out[0].size)))
        return out
    y = module(x)
    params, _ = _n_params(module)
    flops = layer_flops(module, x.shape, y.shape)
    rows.append((indent + (name or "0"), type(module).__name__, y.shape, params, flops))
    return y


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def summary(model: Module, input_shape: Sequence[int], dtype=None) -> str:
    """Table of (layer, type, output shape, params, FLOPs) and totals, as a string.

    input_shape: one sample's shape, e.g. (C, H, W); dtype defaults to the first parameter's.
    """
    if dtype is None:
        first = next(iter(model.parameters()), None)
        dtype = np.float32 if first is None else first.dtype
    x = np.zeros((1,) + tuple(int(d) for d in input_shape), dtype=dtype)
    rows: List[Row] = []
    saved = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            _trace(model, x, "", 0, rows)
    finally:
        for m, flag in saved:
            m.training = flag
    header = ("Layer", "Type", "Output shape", "Params", "FLOPs")
    body = [
        (n, t, "" if not s else str((None,) + tuple(s[1:])), f"{p:,}", _human(f))
        for n, t, s, p, f in rows
    ]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(5)]

    def fmt(r):
        return "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        )

    rule = "=" * len(fmt(header))
    total, trainable = _n_params(model)
    flops = sum(r[4] for r in rows)
    lines = [rule, fmt(header), "-" * len(rule)] + [fmt(r) for r in body] + [rule]
    lines += [
        f"Input shape: {(None,) + tuple(input_shape)}",
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        f"FLOPs per image: {_human(flops)} ({flops:,})",
    ]
    return "\n".join(lines)
