"""The benchmark cases: named shapes and, per case, how each implementation runs it.

One list of cases serves the CLI runner (``python -m convcore bench``) and the pytest-benchmark
suite (``bench/``). A case knows its work per call (FLOP for compute-bound ops, bytes for
memory-bound ones), how to make its inputs, and a builder per implementation ("convcore",
"reference", "torch") that turns one input set into a no-argument callable. Callables return
their outputs (arrays, tensors, floats), compared by the runner before anything is timed.

Bytes of memory-bound ops count what the op must read and write at least once at the API:
every array argument and every result, not the implementation's own saved buffers (torch's
int64 max-pool indices, for instance, are not counted).
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

Thunk = Callable[[], Any]
Builder = Callable[[Dict[str, Any]], Thunk]

OPS = ("conv", "pool", "norm", "pointwise", "train")
IMPLS = ("convcore", "reference", "torch")


def optional_torch():
    """The torch module, or None when it can't be imported."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def backend(impl: str):
    """The functional namespace of ``impl``: convcore.functional or convcore.reference.

    Looked up at every build so that a monkeypatched op is the one benchmarked (and checked).
    """
    name = {"convcore": "convcore.functional", "reference": "convcore.reference"}[impl]
    return importlib.import_module(name)


@dataclass
class Case:
    """One benchmark case: an op on a named shape, one variant (fwd, fwd+bwd, step, infer)."""

    op: str
    name: str
    shape: str
    variant: str
    unit: str                                   # "GF/s", "GB/s" or "img/s"
    work: float                                 # FLOP, bytes or images per call
    make_inputs: Callable[[np.random.Generator], Dict[str, Any]]
    builders: Dict[str, Builder]                # impl -> builder
    outputs: Sequence[str] = ()                 # names of the outputs, for error messages
    cache: str = "hot"                          # "hot": same buffers; "cold": a ring > 2x L3
    baselines: Dict[str, Builder] = field(default_factory=dict)  # e.g. a memory copy
    rtol: float = 2e-3                          # max |a - b| / max |b| per output
    reference_ok: bool = True                   # the reference is fast enough to compare with
    check: Callable[[str], float] | None = None  # custom check(oracle) -> error
    describe: Callable[[], str] | None = None    # what convcore runs (e.g. its algorithm)

    @property
    def id(self) -> str:
        suffix = "" if self.cache == "hot" else f"/{self.cache}"
        return f"{self.op}/{self.name}/{self.shape}/{self.variant}{suffix}"

    @property
    def seed(self) -> int:
        return zlib.crc32(self.id.split("/cold")[0].encode())

    def impls(self) -> List[str]:
        return [impl for impl in IMPLS if impl in self.builders]


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvShape:
    """N C->K HxW, R x S filter, stride, padding (issue 3's table)."""

    name: str
    n: int
    c: int
    k: int
    h: int
    w: int
    r: int
    stride: int
    pad: int
    groups: int = 1

    @property
    def out_hw(self) -> tuple:
        p = (self.h + 2 * self.pad - self.r) // self.stride + 1
        q = (self.w + 2 * self.pad - self.r) // self.stride + 1
        return p, q

    @property
    def flops(self) -> float:
        """Forward FLOP: 2 * N * K * P * Q * C * R * S / groups."""
        p, q = self.out_hw
        return 2.0 * self.n * self.k * p * q * self.c * self.r * self.r / self.groups


CONV_SHAPES = [
    ConvShape("lenet-c1", 64, 1, 32, 28, 28, 5, 1, 2),
    ConvShape("resnet20-a", 32, 16, 16, 32, 32, 3, 1, 1),
    ConvShape("resnet20-b", 32, 32, 32, 16, 16, 3, 1, 1),
    ConvShape("resnet20-c", 32, 64, 64, 8, 8, 3, 1, 1),
    ConvShape("vgg-56", 8, 64, 64, 56, 56, 3, 1, 1),
    ConvShape("vgg-28", 8, 128, 128, 28, 28, 3, 1, 1),
    ConvShape("vgg-14", 8, 256, 256, 14, 14, 3, 1, 1),
    ConvShape("r50-1x1", 8, 256, 64, 56, 56, 1, 1, 0),
    ConvShape("s2-3x3", 8, 64, 128, 56, 56, 3, 2, 1),
]
# Not in the default run: a smoke-test size for tests and CI (select with --shapes tiny).
TINY_CONV = ConvShape("tiny", 2, 3, 4, 9, 7, 3, 1, 1)

# (N, C, H, W) of the memory-bound ops (issue 4: max pool / batch norm on (32, 64, 32, 32)).
TENSOR_SHAPES = {"32x64x32x32": (32, 64, 32, 32)}
TINY_TENSOR = {"tiny": (2, 3, 8, 6)}

DEFAULT_SHAPES = {
    "conv": [s.name for s in CONV_SHAPES],
    "pool": list(TENSOR_SHAPES),
    "norm": list(TENSOR_SHAPES),
    "pointwise": list(TENSOR_SHAPES),
    "train": ["digits-cnn", "lenet-28", "cifar-vgg"],
}


def conv_shape(name: str) -> ConvShape:
    for shape in [*CONV_SHAPES, TINY_CONV]:
        if shape.name == name:
            return shape
    raise KeyError(name)


def tensor_shape(name: str) -> tuple:
    return {**TENSOR_SHAPES, **TINY_TENSOR}[name]


def known_shapes(op: str) -> List[str]:
    """Every shape name ``op`` accepts (the default ones and the tiny smoke-test one)."""
    if op == "train":
        return list(DEFAULT_SHAPES["train"])
    return DEFAULT_SHAPES[op] + ["tiny"]


# --------------------------------------------------------------------------------------------
# Helpers shared by the builders
# --------------------------------------------------------------------------------------------

def _normal(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def _tensors(inputs: Dict[str, Any]) -> Dict[str, Any]:
    """torch views of the NumPy inputs (zero copy: both implementations read the same memory)."""
    torch = optional_torch()
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def _nbytes(*shapes) -> float:
    return float(sum(4 * int(np.prod(s)) for s in shapes))


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------

def conv_cases(names: Sequence[str]) -> List[Case]:
    cases = []
    for name in names:
        shape = conv_shape(name)
        for variant in ("fwd", "fwd+bwd"):
            flops = shape.flops * (1 if variant == "fwd" else 3)
            outputs = ("y",) if variant == "fwd" else ("y", "grad_x", "grad_weight", "grad_bias")
            builders = {impl: _conv_builder(shape, variant, impl) for impl in IMPLS}
            cases.append(Case("conv", "conv2d", name, variant, "GF/s", flops,
                              _conv_inputs(shape), builders, outputs, rtol=2e-3,
                              describe=lambda s=shape, v=variant: _conv_algorithms(s, v)))
    return cases


def _conv_algorithms(shape: ConvShape, variant: str) -> str:
    """Which convcore algorithm each part runs, e.g. "winograd (dW direct)"."""
    from convcore import _kernels

    def part(x_shape, w_shape, y_shape, stride, pad, which="forward"):
        return _kernels.conv2d_algorithm(x_shape, w_shape, y_shape, (stride,) * 2, (pad,) * 2,
                                         (1, 1), shape.groups, False, which)

    x = (shape.n, shape.c, shape.h, shape.w)
    w = (shape.k, shape.c // shape.groups, shape.r, shape.r)
    y = (shape.n, shape.k, *shape.out_hw)
    forward = part(x, w, y, shape.stride, shape.pad)
    if variant == "fwd":
        return forward
    data = part(x, w, y, shape.stride, shape.pad, "data_grad")
    weight = part(x, w, y, shape.stride, shape.pad, "weight_grad")
    return f"fwd {forward}, dX {data}, dW {weight}"


def _conv_inputs(shape: ConvShape):
    def make(rng):
        fan_in = shape.c // shape.groups * shape.r * shape.r
        return {
            "x": _normal(rng, (shape.n, shape.c, shape.h, shape.w)),
            "w": _normal(rng, (shape.k, shape.c // shape.groups, shape.r, shape.r),
                         1 / np.sqrt(fan_in)),
            "b": _normal(rng, (shape.k,)),
            "gy": _normal(rng, (shape.n, shape.k, *shape.out_hw)),
        }
    return make


def _conv_builder(shape: ConvShape, variant: str, impl: str) -> Builder:
    st, pad, g = shape.stride, shape.pad, shape.groups

    def build(a):
        if impl == "torch":
            torch = optional_torch()
            t = _tensors(a)
            conv = torch.nn.functional.conv2d
            if variant == "fwd":
                return lambda: conv(t["x"], t["w"], t["b"], st, pad, 1, g)

            def fwd_bwd():
                y = conv(t["x"], t["w"], t["b"], st, pad, 1, g)
                grads = torch.ops.aten.convolution_backward(
                    t["gy"], t["x"], t["w"], [shape.k], [st, st], [pad, pad], [1, 1], False,
                    [0, 0], g, [True, True, True])
                return (y, *grads)
            return fwd_bwd

        F = backend(impl)
        x, w, b, gy = a["x"], a["w"], a["b"], a["gy"]
        if variant == "fwd":
            return lambda: F.conv2d(x, w, b, st, pad, 1, g)
        return lambda: (F.conv2d(x, w, b, st, pad, 1, g),
                        *F.conv2d_backward(gy, x, w, st, pad, 1, g))
    return build


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------

def pool_cases(names: Sequence[str]) -> List[Case]:
    cases = []
    for name in names:
        nchw = tensor_shape(name)
        n, c, h, w = nchw
        half = (n, c, h // 2, w // 2)
        plane = (n, c, 1, 1)
        for cache in ("hot", "cold"):
            for variant in ("fwd", "fwd+bwd"):
                fwd_bytes = _nbytes(nchw, half)
                bwd_bytes = _nbytes(half, nchw, nchw)
                total = fwd_bytes + (bwd_bytes if variant == "fwd+bwd" else 0)
                outs = ("y",) if variant == "fwd" else ("y", "grad_x")
                for op_name in ("max_pool2d", "avg_pool2d"):
                    builders = {impl: _pool_builder(op_name, variant, impl) for impl in IMPLS}
                    cases.append(Case("pool", f"{op_name} 2x2", name, variant, "GB/s", total,
                                      _tensor_inputs(nchw, half), builders, outs, cache=cache))
                gap_bytes = _nbytes(nchw, plane) + (
                    _nbytes(plane, nchw) if variant == "fwd+bwd" else 0)
                builders = {impl: _gap_builder(variant, impl) for impl in IMPLS}
                cases.append(Case("pool", "global_avg_pool2d", name, variant, "GB/s", gap_bytes,
                                  _tensor_inputs(nchw, plane), builders, outs, cache=cache))
    return cases


def _tensor_inputs(nchw: tuple, grad_shape: tuple, channels: bool = False):
    def make(rng):
        a = {"x": _normal(rng, nchw), "gy": _normal(rng, grad_shape)}
        if channels:
            c = nchw[1]
            a.update(gamma=(1 + 0.1 * rng.standard_normal(c)).astype(np.float32),
                     beta=_normal(rng, (c,), 0.1), running_mean=np.zeros(c, np.float32),
                     running_var=np.ones(c, np.float32))
        return a
    return make


def _pool_builder(op_name: str, variant: str, impl: str) -> Builder:
    def build(a):
        if impl == "torch":
            torch = optional_torch()
            t = _tensors(a)
            aten = torch.ops.aten
            if op_name == "max_pool2d":
                if variant == "fwd":
                    return lambda: torch.nn.functional.max_pool2d(t["x"], 2)

                def max_fwd_bwd():
                    y, idx = aten.max_pool2d_with_indices(t["x"], [2, 2], [2, 2])
                    return y, aten.max_pool2d_with_indices_backward(
                        t["gy"], t["x"], [2, 2], [2, 2], [0, 0], [1, 1], False, idx)
                return max_fwd_bwd
            if variant == "fwd":
                return lambda: torch.nn.functional.avg_pool2d(t["x"], 2)
            return lambda: (torch.nn.functional.avg_pool2d(t["x"], 2),
                            aten.avg_pool2d_backward(t["gy"], t["x"], [2, 2], [2, 2], [0, 0],
                                                     False, True, None))

        F = backend(impl)
        x, gy = a["x"], a["gy"]
        if op_name == "max_pool2d":
            if variant == "fwd":
                return lambda: F.max_pool2d(x, 2)

            def fwd_bwd():
                y, idx = F.max_pool2d(x, 2, return_indices=True)
                return y, F.max_pool2d_backward(gy, x, 2, indices=idx)
            return fwd_bwd
        if variant == "fwd":
            return lambda: F.avg_pool2d(x, 2)
        return lambda: (F.avg_pool2d(x, 2), F.avg_pool2d_backward(gy, x.shape, 2))
    return build


def _gap_builder(variant: str, impl: str) -> Builder:
    def build(a):
        if impl == "torch":
            torch = optional_torch()
            t = _tensors(a)
            pool = torch.nn.functional.adaptive_avg_pool2d
            if variant == "fwd":
                return lambda: pool(t["x"], 1)
            return lambda: (pool(t["x"], 1),
                            torch.ops.aten._adaptive_avg_pool2d_backward(t["gy"], t["x"]))
        F = backend(impl)
        x, gy = a["x"], a["gy"]
        if variant == "fwd":
            return lambda: F.global_avg_pool2d(x)
        return lambda: (F.global_avg_pool2d(x), F.global_avg_pool2d_backward(gy, x.shape))
    return build


# --------------------------------------------------------------------------------------------
# Batch norm (training mode), plain and fused with ReLU
# --------------------------------------------------------------------------------------------

def norm_cases(names: Sequence[str]) -> List[Case]:
    cases = []
    for name in names:
        nchw = tensor_shape(name)
        for cache in ("hot", "cold"):
            for relu in (False, True):
                for variant in ("fwd", "fwd+bwd"):
                    # fwd reads x, writes y; bwd reads grad_y, x (and y when fused), writes grad_x
                    arrays = 2 + (0 if variant == "fwd" else 3 + relu)
                    outs = ("y",) if variant == "fwd" else ("y", "grad_x", "grad_gamma",
                                                            "grad_beta")
                    builders = {impl: _bn_builder(variant, relu, impl) for impl in IMPLS}
                    baselines = {"bn,relu": _bn_unfused_builder(variant)} if relu else {}
                    label = "batch_norm2d+relu" if relu else "batch_norm2d"
                    cases.append(Case("norm", label, name, variant, "GB/s",
                                      arrays * _nbytes(nchw),
                                      _tensor_inputs(nchw, nchw, channels=True), builders, outs,
                                      cache=cache, baselines=baselines))
    return cases


def _bn_builder(variant: str, relu: bool, impl: str) -> Builder:
    act = "relu" if relu else None

    def build(a):
        if impl == "torch":
            torch = optional_torch()
            t = _tensors(a)
            aten = torch.ops.aten

            def fwd():
                y, mean, invstd = aten.native_batch_norm(t["x"], t["gamma"], t["beta"],
                                                         t["running_mean"], t["running_var"],
                                                         True, 0.1, 1e-5)
                return (torch.relu(y) if relu else y), mean, invstd

            if variant == "fwd":
                return lambda: fwd()[0]

            def fwd_bwd():
                y, mean, invstd = fwd()
                gy = aten.threshold_backward(t["gy"], y, 0) if relu else t["gy"]
                gx, gg, gb = aten.native_batch_norm_backward(
                    gy, t["x"], t["gamma"], t["running_mean"], t["running_var"], mean, invstd,
                    True, 1e-5, [True, True, True])
                return y, gx, gg, gb
            return fwd_bwd

        F = backend(impl)
        x, gy, gamma, beta = a["x"], a["gy"], a["gamma"], a["beta"]
        rm, rv = a["running_mean"], a["running_var"]
        if variant == "fwd":
            return lambda: F.batch_norm2d(x, gamma, beta, rm, rv, True, activation=act)[0]

        def fwd_bwd():
            y, mean, invstd = F.batch_norm2d(x, gamma, beta, rm, rv, True, activation=act)
            return (y, *F.batch_norm2d_backward(gy, x, gamma, mean, invstd, True,
                                                y=y if relu else None, activation=act))
        return fwd_bwd
    return build


def _bn_unfused_builder(variant: str) -> Builder:
    """convcore batch norm then a separate ReLU: what the fused kernel must beat."""
    def build(a):
        F = backend("convcore")
        x, gy, gamma, beta = a["x"], a["gy"], a["gamma"], a["beta"]
        rm, rv = a["running_mean"], a["running_var"]

        def fwd():
            z, mean, invstd = F.batch_norm2d(x, gamma, beta, rm, rv, True)
            return z, F.relu(z), mean, invstd

        if variant == "fwd":
            return lambda: fwd()[1]

        def fwd_bwd():
            z, y, mean, invstd = fwd()
            gz = F.relu_backward(gy, z)
            return (y, *F.batch_norm2d_backward(gz, x, gamma, mean, invstd, True))
        return fwd_bwd
    return build


# --------------------------------------------------------------------------------------------
# Pointwise activations, against a memory copy of the same bytes
# --------------------------------------------------------------------------------------------

ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "leaky_relu")
# Backward inputs as torch's *_backward ops: relu/elu/leaky take the forward input, sigmoid/tanh
# the forward output.
_BACKWARD_TAKES_OUTPUT = {"sigmoid", "tanh"}


def pointwise_cases(names: Sequence[str]) -> List[Case]:
    cases = []
    for name in names:
        nchw = tensor_shape(name)
        for cache in ("hot", "cold"):
            for act in ACTIVATIONS:
                for variant in ("fwd", "fwd+bwd"):
                    arrays = 2 if variant == "fwd" else 5
                    outs = ("y",) if variant == "fwd" else ("y", "grad_x")
                    builders = {impl: _act_builder(act, variant, impl) for impl in IMPLS}
                    baselines = {"copy": _copy_builder} if variant == "fwd" else {}
                    cases.append(Case("pointwise", act, name, variant, "GB/s",
                                      arrays * _nbytes(nchw), _tensor_inputs(nchw, nchw),
                                      builders, outs, cache=cache, baselines=baselines))
    return cases


def _copy_builder(a):
    x = a["x"]
    return lambda: x.copy()


def _act_builder(act: str, variant: str, impl: str) -> Builder:
    def build(a):
        if impl == "torch":
            torch = optional_torch()
            t = _tensors(a)
            aten = torch.ops.aten
            fwd = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                   "elu": torch.nn.functional.elu,
                   "leaky_relu": torch.nn.functional.leaky_relu}[act]
            bwd = {
                "relu": lambda gy, x, y: aten.threshold_backward(gy, x, 0),
                "sigmoid": lambda gy, x, y: aten.sigmoid_backward(gy, y),
                "tanh": lambda gy, x, y: aten.tanh_backward(gy, y),
                "elu": lambda gy, x, y: aten.elu_backward(gy, 1.0, 1, 1, False, x),
                "leaky_relu": lambda gy, x, y: aten.leaky_relu_backward(gy, x, 0.01, False),
            }[act]
        else:
            F = backend(impl)
            fwd = getattr(F, act)
            backward = getattr(F, act + "_backward")

            def bwd(gy, x, y):
                return backward(gy, y if act in _BACKWARD_TAKES_OUTPUT else x)
            t = a
        x, gy = t["x"], t["gy"]
        if variant == "fwd":
            return lambda: fwd(x)

        def fwd_bwd():
            y = fwd(x)
            return y, bwd(gy, x, y)
        return fwd_bwd
    return build


# --------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------

def select_cases(op: str, shapes: Sequence[str] | None = None) -> List[Case]:
    """The cases of ``op`` ("conv", "pool", "norm", "pointwise", "train") on ``shapes``.

    ``shapes`` None: the default shapes of that op. Unknown names raise ValueError listing the
    known ones.
    """
    if op not in OPS:
        raise ValueError(f"unknown op {op!r}; expected one of {OPS}")
    names = list(shapes) if shapes else DEFAULT_SHAPES[op]
    unknown = [s for s in names if s not in known_shapes(op)]
    if unknown:
        raise ValueError(f"unknown {op} shape(s) {unknown}; known: {known_shapes(op)}")
    if op == "train":
        from .train import train_cases
        return train_cases(names)
    return {"conv": conv_cases, "pool": pool_cases, "norm": norm_cases,
            "pointwise": pointwise_cases}[op](names)
