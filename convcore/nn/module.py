"""Module and Parameter: the base of every convcore layer, plus the backend switch.

A convcore model has no autograd tape. Each layer's ``forward`` keeps what its ``backward``
needs (its *cache*); ``backward(grad_out)`` adds the parameter gradients into ``.grad`` (the
caller zeroes them, as in PyTorch) and returns the gradient with respect to the layer's input.

Caching rule: a layer caches in training mode and in eval mode (so that ``backward`` works after
``model.eval()``, e.g. for saliency maps), but never inside ``with convcore.nn.no_grad():``, which
``predict``/``evaluate`` use so that inference holds no memory.

Backend: layers call the ops of ``convcore.functional`` (compiled kernels) by default;
``with convcore.nn.use_backend("reference"):`` runs the same model on the pure-NumPy
``convcore.reference`` ops (used to measure the speed-up, and as an oracle).
"""

from __future__ import annotations

import contextlib
import importlib
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, NamedTuple, Tuple

import numpy as np

from ..init import as_generator

__all__ = [
    "Parameter",
    "Module",
    "use_backend",
    "set_backend",
    "get_backend",
    "no_grad",
    "is_grad_enabled",
    "ops",
    "as_generator",
]

_BACKEND_MODULES = {"functional": "convcore.functional", "reference": "convcore.reference"}
_state = {"backend": "functional", "grad_enabled": True}
_loaded: Dict[str, Any] = {}

# Keys that convcore.save adds next to the state dict; load_state_dict ignores them so that
# ``model.load_state_dict(dict(np.load(path)))`` also works on a file written by convcore.save.
RESERVED_KEY_PREFIX = "__convcore"


def ops():
    """The namespace of ops the layers call: convcore.functional or convcore.reference."""
    name = _state["backend"]
    mod = _loaded.get(name)
    if mod is None:
        mod = _loaded[name] = importlib.import_module(_BACKEND_MODULES[name])
    return mod


def get_backend() -> str:
    """Name of the active backend: ``"functional"`` (default) or ``"reference"``."""
    return _state["backend"]


def set_backend(name: str) -> None:
    """Select the ops the layers call: ``"functional"`` (compiled) or ``"reference"`` (NumPy)."""
    if name not in _BACKEND_MODULES:
        raise ValueError(f"backend must be one of {sorted(_BACKEND_MODULES)}, got {name!r}")
    _state["backend"] = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Context manager: run layers on backend ``name`` inside the block, then restore."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: layers then keep no cache and backward is unavailable."""
    return _state["grad_enabled"]


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager for inference: layers keep no cache (less memory, no backward)."""
    previous = _state["grad_enabled"]
    _state["grad_enabled"] = False
    try:
        yield
    finally:
        _state["grad_enabled"] = previous


def check_dtype(dtype: Any) -> np.dtype:
    """np.float32 or np.float64 as a np.dtype; TypeError otherwise."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


class Parameter:
    """A trainable array: ``.data`` (ndarray), ``.grad`` (ndarray or None), ``.requires_grad``.

    A frozen parameter (``requires_grad=False``) receives no gradient and optimizers skip it.
    """

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        self.data = np.ascontiguousarray(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def accumulate_grad(self, grad: np.ndarray | None) -> None:
        """``self.grad += grad`` (allocating on first use); no-op when frozen or grad is None."""
        if not self.requires_grad or grad is None:
            return
        if self.grad is None:
            self.grad = np.array(grad, dtype=self.data.dtype, copy=True).reshape(self.data.shape)
        else:
            self.grad += grad.reshape(self.data.shape)

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class _LoadResult(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]


class Module:
    """Base class of layers and containers (PyTorch-shaped, explicit backward).

    Subclasses assign ``Parameter`` and ``Module`` attributes in ``__init__`` (found by
    attribute order, like PyTorch), register non-trainable state with ``register_buffer``,
    and implement ``forward(x)``, ``backward(grad_out)`` and ``config()`` (constructor args,
    used by ``convcore.save``).
    """

    def __init__(self) -> None:
        self.training = True
        self._buffer_names: List[str] = []
        self._cache: Any = None

    # ---- computation -------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} does not define backward()")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _keep(self, cache: Any) -> None:
        """Store ``cache`` for backward unless inside ``no_grad()``."""
        self._cache = cache if _state["grad_enabled"] else None

    def _take(self) -> Any:
        """The cache of the last forward; a clear error when there is none."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called without a forward pass that kept its "
                "cache (forward under no_grad(), or no forward yet)"
            )
        return self._cache

    # ---- tree walking ------------------------------------------------------------------
    def named_children(self) -> Iterator[Tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def _own_parameters(self) -> Iterator[Tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Parameter]]:
        for name, p in self._own_parameters():
            yield prefix + name, p
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Non-trainable state saved in state_dict (e.g. batch norm running statistics)."""
        setattr(self, name, value)
        if name not in self._buffer_names:
            self._buffer_names.append(name)

    def named_buffers(self, prefix: str = "") -> Iterator[Tuple[str, np.ndarray]]:
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    # ---- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to None (as PyTorch's set_to_none=True)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter of this module; returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
            if not requires_grad:
                p.grad = None
        return self

    # ---- state ------------------------------------------------------------------------
    def _state_items(self) -> Iterator[Tuple[str, Any]]:
        """(key, owner, attribute) of every parameter and buffer, in PyTorch's key order."""
        for name, _p in self._own_parameters():
            yield name, (self, name)
        for name in self._buffer_names:
            yield name, (self, name)
        for cname, child in self.named_children():
            for key, ref in child._state_items():
                yield cname + "." + key, ref

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed as PyTorch (``"0.weight"``, ...)."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for key, (owner, attr) in self._state_items():
            value = getattr(owner, attr)
            out[key] = np.array(value.data if isinstance(value, Parameter) else value, copy=True)
        return out

    def load_state_dict(self, state: Dict[str, Any], strict: bool = True) -> _LoadResult:
        """Copy arrays from ``state`` into this module's parameters and buffers, in place.

        Values are cast to each target's dtype. A shape mismatch always raises ValueError;
        with ``strict`` missing or unexpected keys raise ValueError too. Keys starting with
        ``"__convcore"`` (written by ``convcore.save``) are ignored. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        targets = dict(self._state_items())
        given = {k: v for k, v in state.items() if not str(k).startswith(RESERVED_KEY_PREFIX)}
        missing = [k for k in targets if k not in given]
        unexpected = [k for k in given if k not in targets]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        for key, (owner, attr) in targets.items():
            if key not in given:
                continue
            value = np.asarray(given[key])
            if value.dtype.kind not in "biuf":  # not complex, strings, objects or records
                raise TypeError(f"load_state_dict: {key!r} has dtype {value.dtype}, "
                                "expected a real number array")
            target = getattr(owner, attr)
            array = target.data if isinstance(target, Parameter) else target
            if value.shape != array.shape:
                raise ValueError(
                    f"load_state_dict: {key!r} has shape {value.shape}, the model expects "
                    f"{array.shape}"
                )
            array[...] = value
        return _LoadResult(missing, unexpected)

    # ---- description --------------------------------------------------------------------
    def config(self) -> Dict[str, Any]:
        """Constructor arguments (JSON-serialisable) that rebuild this module's architecture."""
        return {}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "dtype")

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
