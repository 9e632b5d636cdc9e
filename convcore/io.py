"""save / load a model: architecture (JSON) and weights (+ batch-norm statistics) in one .npz.

File layout (a plain ``np.savez`` archive, readable with ``np.load(path)``):

- ``__convcore_architecture__``: uint8 array, UTF-8 JSON of the layer tree:
  ``{"type": "Sequential", "fuse": true, "layers": [{"type": "Conv2d", "config": {...}}, ...]}``;
  ``Residual`` has ``"block"`` and ``"shortcut"`` (or null); other layers ``"config"``, the
  constructor arguments of ``Module.config()``.
- ``__convcore_format__``: int64 array ``[1]`` (format version).
- every entry of ``model.state_dict()`` under its own key (``"0.weight"``, ...).

Loading never unpickles (``allow_pickle=False``): a file from an untrusted source cannot run
code. Only the layer classes of ``convcore.nn`` can be instantiated. Writes are atomic: the
archive goes to a temporary file in the target's directory, then ``os.replace``.
A truncated, foreign or inconsistent file raises ``ValueError``.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from typing import Any, Dict, Union

import numpy as np

from . import nn
from .nn.module import Module

__all__ = ["save", "load", "architecture", "build"]

ARCHITECTURE_KEY = "__convcore_architecture__"
FORMAT_KEY = "__convcore_format__"
FORMAT_VERSION = 1

_LEAF_CLASSES = {
    cls.__name__: cls
    for cls in (
        nn.Conv2d,
        nn.Linear,
        nn.MaxPool2d,
        nn.AvgPool2d,
        nn.GlobalAvgPool2d,
        nn.BatchNorm2d,
        nn.BatchNorm1d,
        nn.Flatten,
        nn.Dropout,
        nn.ReLU,
        nn.LeakyReLU,
        nn.ELU,
        nn.Sigmoid,
        nn.Tanh,
        nn.Maxout,
    )
}

PathLike = Union[str, "os.PathLike[str]"]


def architecture(model: Module) -> Dict[str, Any]:
    """The JSON-serialisable description of ``model``'s layer tree (no weights)."""
    kind = type(model)
    if kind is nn.Sequential:
        return {
            "type": "Sequential",
            "fuse": model.fuse,
            "layers": [architecture(layer) for layer in model.layers],
        }
    if kind is nn.Residual:
        shortcut = None if model.shortcut is None else architecture(model.shortcut)
        return {"type": "Residual", "block": architecture(model.block), "shortcut": shortcut}
    if kind.__name__ in _LEAF_CLASSES and _LEAF_CLASSES[kind.__name__] is kind:
        return {"type": kind.__name__, "config": model.config()}
    raise TypeError(
        f"cannot describe a {kind.__name__}: only convcore.nn layers and containers can be "
        "saved with convcore.save (save model.state_dict() with np.savez instead)"
    )


def build(description: Dict[str, Any]) -> Module:
    """Instantiate the layer tree described by ``architecture()`` (fresh weights)."""
    if not isinstance(description, dict) or not isinstance(description.get("type"), str):
        raise ValueError(f"bad architecture entry: {description!r:.200}")
    kind = description["type"]
    try:
        if kind == "Sequential":
            layers = [build(d) for d in description["layers"]]
            return nn.Sequential(*layers, fuse=bool(description.get("fuse", True)))
        if kind == "Residual":
            shortcut = description.get("shortcut")
            return nn.Residual(
                build(description["block"]), None if shortcut is None else build(shortcut)
            )
        if kind not in _LEAF_CLASSES:
            raise ValueError(f"unknown layer type {kind!r} in the architecture")
        config = description.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"bad config for {kind}: {config!r:.200}")
        return _LEAF_CLASSES[kind](**config, rng=0)
    except (KeyError, TypeError, OverflowError, MemoryError, RecursionError) as exc:
        raise ValueError(f"bad architecture entry for {kind}: {exc}") from exc


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` (architecture + state_dict) to ``path`` atomically (exact name kept)."""
    description = json.dumps(architecture(model)).encode("utf-8")
    arrays = {
        ARCHITECTURE_KEY: np.frombuffer(description, dtype=np.uint8),
        FORMAT_KEY: np.array([FORMAT_VERSION], dtype=np.int64),
    }
    arrays.update(model.state_dict())
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: PathLike) -> Module:
    """Rebuild the model saved by ``save`` at ``path``: architecture, weights and BN statistics.

    Raises ValueError for a file that is truncated, not an .npz, not written by convcore.save,
    holds pickled objects, or whose arrays do not fit the architecture (names the key and the
    shapes). FileNotFoundError when ``path`` does not exist.
    """
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            if ARCHITECTURE_KEY not in archive.files:
                raise ValueError(f"it has no {ARCHITECTURE_KEY!r} entry (not written by save)")
            version = archive[FORMAT_KEY] if FORMAT_KEY in archive.files else None
            if (version is None or version.shape != (1,) or version.dtype.kind not in "iu"
                    or int(version[0]) != FORMAT_VERSION):
                raise ValueError(f"unsupported format version {version!r}")
            raw = archive[ARCHITECTURE_KEY]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"architecture entry has dtype {raw.dtype}, shape {raw.shape}")
            description = json.loads(raw.tobytes().decode("utf-8"))
            state = {k: archive[k] for k in archive.files if not k.startswith("__convcore")}
    except (
        ValueError,
        EOFError,
        OSError,
        KeyError,
        RecursionError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,  # zipfile: a damaged header names an unknown compression method
    ) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path!r} is not a readable convcore model file: {exc}") from exc
    try:
        model = build(description)
    except ValueError as exc:
        raise ValueError(f"{path!r}: bad architecture: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except TypeError as exc:
        raise ValueError(f"{path!r}: {exc}") from exc
    return model
