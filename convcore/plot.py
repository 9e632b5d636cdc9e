"""Plots (matplotlib, an optional dependency imported only when a function is called).

Every function returns the matplotlib ``Figure``. With ``path`` the figure is drawn with the
non-interactive Agg canvas (no display needed, pyplot's global state untouched), saved to
``path`` and closed; without ``path`` it is created through pyplot, so that ``plt.show()``
displays it.
"""

from __future__ import annotations

import math
import os
from typing import Any, List, Sequence, Tuple, Union

import numpy as np

__all__ = ["plot_history", "plot_filters", "plot_feature_maps"]


def _figure(figsize: Tuple[float, float], path: Union[str, os.PathLike] | None):
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("convcore.plot needs matplotlib: pip install matplotlib") from exc
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig
    del matplotlib
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def _finish(fig, path) -> Any:
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=100)
    return fig


def plot_history(history: Any, path: Union[str, os.PathLike] | None = None):
    """Loss (and accuracy, when measured) per epoch, training and validation.

    history: a ``convcore.History`` or its ``.history`` dict.
    """
    data = history.history if hasattr(history, "history") else dict(history)
    panels = [m for m in ("loss", "accuracy") if data.get(m) or data.get("val_" + m)]
    if not panels:
        raise ValueError("history has no loss or accuracy to plot")
    fig = _figure((5 * len(panels), 3.6), path)
    for i, metric in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key, label in ((metric, "train"), ("val_" + metric, "validation")):
            values = data.get(key) or []
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


def _grid(n: int, max_cols: int = 8) -> Tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def plot_filters(weight: Any, path: Union[str, os.PathLike] | None = None, max_filters=64):
    """Convolution filters as images: weight (K, C, R, S) (an ndarray, Parameter or Conv2d).

    One tile per output channel (first ``max_filters``); with C == 3 the tile is shown in
    colour, otherwise the mean over input channels, in a diverging colormap centred at 0.
    """
    weight = getattr(weight, "weight", weight)
    weight = np.asarray(getattr(weight, "data", weight))
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape (K, C, R, S), got {weight.shape}")
    k = min(weight.shape[0], max_filters)
    rows, cols = _grid(k)
    fig = _figure((1.2 * cols + 0.5, 1.2 * rows + 0.5), path)
    for i in range(k):
        ax = fig.add_subplot(rows, cols, i + 1)
        w = weight[i]
        if w.shape[0] == 3:
            lo, hi = w.min(), w.max()
            ax.imshow(((w - lo) / (hi - lo + 1e-12)).transpose(1, 2, 0))
        else:
            m = w.mean(axis=0)
            lim = np.abs(m).max() + 1e-12
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(i), fontsize=7)
    return _finish(fig, path)


def _feature_maps(model_or_layers: Any, x: np.ndarray) -> List[Tuple[str, np.ndarray]]:
    """(label, output) after each layer whose output is 4-D, running in eval mode."""
    from .nn import Module, Sequential, no_grad

    layers: Sequence[Any]
    if isinstance(model_or_layers, Sequential):
        layers = model_or_layers.layers
    elif isinstance(model_or_layers, Module):
        layers = [model_or_layers]
    else:
        layers = list(model_or_layers)
    saved = [(m, m.training) for layer in layers for m in layer.modules()]
    outputs = []
    try:
        with no_grad():
            for i, layer in enumerate(layers):
                layer.eval()
                x = layer(x)
                if x.ndim == 4:
                    outputs.append((f"{i}: {type(layer).__name__} {tuple(x.shape[1:])}", x))
    finally:
        for m, flag in saved:
            m.training = flag
    return outputs


def _mosaic(channels: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, C * (W + 1) - 1): channels scaled to [0, 1], 1-pixel NaN gaps."""
    c, h, w = channels.shape
    out = np.full((h, c * (w + 1) - 1), np.nan)
    for i, ch in enumerate(channels.astype(np.float64)):
        lo, hi = ch.min(), ch.max()
        out[:, i * (w + 1) : i * (w + 1) + w] = (ch - lo) / (hi - lo) if hi > lo else 0.5
    return out


def plot_feature_maps(
    model_or_layers: Any,
    x: np.ndarray,
    path: Union[str, os.PathLike] | None = None,
    max_channels: int = 8,
):
    """Feature maps of one image after every layer with a 4-D output (one row per layer).

    model_or_layers: a Sequential, a list of layers, or one layer. x: (C, H, W) or (1, C, H, W).
    Shows the first ``max_channels`` channels of each output side by side, each scaled to its
    own range (eval mode; modes restored).
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be one image (C, H, W) or (1, C, H, W), got shape {x.shape}")
    maps = _feature_maps(model_or_layers, x)
    if not maps:
        raise ValueError("no layer produced a 4-D (N, C, H, W) output")
    # one mosaic image per layer (channels side by side, each scaled to [0, 1]): a single
    # axes per row draws far faster than one axes per channel
    rows = [(label, _mosaic(m[0, :max_channels])) for label, m in maps]
    width = max(r.shape[1] / r.shape[0] for _, r in rows)
    fig = _figure((min(2.0 + 1.6 * width, 16.0), 1.6 * len(rows) + 0.3), path)
    for i, (label, mosaic) in enumerate(rows):
        ax = fig.add_subplot(len(rows), 1, i + 1)
        ax.imshow(mosaic, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize=8, loc="left")
    return _finish(fig, path)
