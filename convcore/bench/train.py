"""Training-step and inference cases: the CNNs of issue 5, built with convcore.nn and in torch.

Per model: ``step`` (zero_grad, forward, cross-entropy, backward, Adam step; batch 64, float32,
training mode) and ``infer`` (eval-mode forward of one batch). The torch model has the same
layers in the same order and is loaded with the convcore model's ``state_dict`` (same keys as
torch's), so both start from identical weights. The "reference" implementation is the same
convcore model run on ``convcore.reference`` (``convcore.nn.use_backend("reference")``).

The check, before timing: with dropout off, one training-mode forward and backward must give the
same logits, loss and parameter gradients as the oracle, within 2 % relative L2 error (Adam's first
step is ~lr * sign(grad), which would amplify rounding of near-zero gradients, so the gradients
are compared instead; float32 rounding through six conv+BN layers reaches ~0.6 % on cifar-vgg).
Inference is checked on its eval-mode logits.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from .cases import Case, optional_torch

BATCH = 64
CLASSES = 10

# name -> (input (C, H, W), layer list); a layer is (kind, *args) understood by both builders.
MODELS: Dict[str, tuple] = {
    # The demo's digits CNN: conv-BN-ReLU-pool x2, flatten, dropout, linear.
    "digits-cnn": ((1, 8, 8), [
        ("conv", 1, 16, 3, 1), ("bn", 16), ("relu",), ("maxpool", 2),
        ("conv", 16, 32, 3, 1), ("bn", 32), ("relu",), ("maxpool", 2),
        ("flatten",), ("dropout", 0.25), ("linear", 32 * 2 * 2, CLASSES),
    ]),
    "lenet-28": ((1, 28, 28), [
        ("conv", 1, 32, 5, 2), ("bn", 32), ("relu",), ("maxpool", 2),
        ("conv", 32, 64, 5, 0), ("bn", 64), ("relu",), ("maxpool", 2),
        ("flatten",), ("linear", 64 * 5 * 5, 128), ("relu",), ("dropout", 0.5),
        ("linear", 128, CLASSES),
    ]),
    "cifar-vgg": ((3, 32, 32), [
        ("conv", 3, 32, 3, 1), ("bn", 32), ("relu",),
        ("conv", 32, 32, 3, 1), ("bn", 32), ("relu",), ("maxpool", 2),
        ("conv", 32, 64, 3, 1), ("bn", 64), ("relu",),
        ("conv", 64, 64, 3, 1), ("bn", 64), ("relu",), ("maxpool", 2),
        ("conv", 64, 128, 3, 1), ("bn", 128), ("relu",),
        ("conv", 128, 128, 3, 1), ("bn", 128), ("relu",), ("maxpool", 2),
        ("gap",), ("flatten",), ("linear", 128, CLASSES),
    ]),
}
# The reference backend (NumPy) is fast enough to compare with on the small models only.
REFERENCE_OK = {"digits-cnn": True, "lenet-28": True, "cifar-vgg": False}


def convcore_nn():
    """convcore.nn, or None when this build does not have it yet."""
    try:
        return importlib.import_module("convcore.nn")
    except ImportError:
        return None


def _convcore_model(name: str, dropout: bool, seed: int):
    nn = convcore_nn()
    rng = np.random.default_rng(seed)
    layers = []
    for kind, *args in MODELS[name][1]:
        if kind == "conv":
            c, k, r, pad = args
            layers.append(nn.Conv2d(c, k, r, padding=pad, rng=rng))
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(args[0]))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "maxpool":
            layers.append(nn.MaxPool2d(args[0]))
        elif kind == "gap":
            layers.append(nn.GlobalAvgPool2d())
        elif kind == "flatten":
            layers.append(nn.Flatten())
        elif kind == "dropout":
            layers.append(nn.Dropout(args[0] if dropout else 0.0, rng=rng))
        elif kind == "linear":
            layers.append(nn.Linear(*args, rng=rng))
    return nn.Sequential(*layers)


def _torch_model(name: str, dropout: bool, state: Dict[str, np.ndarray]):
    torch = optional_torch()
    tnn = torch.nn
    layers = []
    for kind, *args in MODELS[name][1]:
        if kind == "conv":
            c, k, r, pad = args
            layers.append(tnn.Conv2d(c, k, r, padding=pad))
        elif kind == "bn":
            layers.append(tnn.BatchNorm2d(args[0]))
        elif kind == "relu":
            layers.append(tnn.ReLU())
        elif kind == "maxpool":
            layers.append(tnn.MaxPool2d(args[0]))
        elif kind == "gap":
            layers.append(tnn.AdaptiveAvgPool2d(1))
        elif kind == "flatten":
            layers.append(tnn.Flatten())
        elif kind == "dropout":
            layers.append(tnn.Dropout(args[0] if dropout else 0.0))
        elif kind == "linear":
            layers.append(tnn.Linear(*args))
    model = tnn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model


def _inputs(name: str):
    def make(rng):
        chw = MODELS[name][0]
        return {"x": rng.standard_normal((BATCH, *chw), dtype=np.float32),
                "target": rng.integers(0, CLASSES, BATCH).astype(np.int64),
                "seed": int(rng.integers(2**31))}
    return make


def _convcore_runner(name: str, variant: str, backend: str, dropout: bool = True):
    """Builder of the convcore model's step/infer on the ``functional`` or ``reference`` ops."""
    def build(a) -> Callable[[], Any]:
        nn = convcore_nn()
        optim = importlib.import_module("convcore.optim")
        model = _convcore_model(name, dropout, a["seed"])
        loss_fn = nn.CrossEntropyLoss()
        opt = optim.Adam(model.parameters(), lr=1e-3)
        x, target = a["x"], a["target"]

        def step():
            with nn.use_backend(backend):
                model.train()
                opt.zero_grad()
                logits = model(x)
                loss = loss_fn(logits, target)
                model.backward(loss_fn.backward())
                opt.step()
                return logits, loss

        def infer():
            with nn.use_backend(backend), nn.no_grad():
                model.eval()
                return model(x)
        return step if variant == "step" else infer
    return build


def _torch_runner(name: str, variant: str, dropout: bool = True):
    def build(a) -> Callable[[], Any]:
        torch = optional_torch()
        state = _convcore_model(name, dropout, a["seed"]).state_dict()
        model = _torch_model(name, dropout, state)
        loss_fn = torch.nn.CrossEntropyLoss()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, target = torch.from_numpy(a["x"]), torch.from_numpy(a["target"])

        def step():
            model.train()
            opt.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, target)
            loss.backward()
            opt.step()
            return logits, loss

        def infer():
            model.eval()
            with torch.no_grad():
                return model(x)
        return step if variant == "step" else infer
    return build


def _errors(got: Dict[str, Any], want: Dict[str, Any]) -> Dict[str, float]:
    """Relative L2 error per output, ||got - want|| / ||want||.

    L2, not max-abs: a pre-activation within rounding of 0 may flip one ReLU or max-pool choice
    and move a few gradient entries, which is not a bug. The denominator has a floor of 1e-4 x
    the largest gradient norm, because the gradient of a conv bias followed by batch norm is 0
    up to rounding (the norm removes it) and its relative error would be noise over noise.
    """
    norms = {k: float(np.linalg.norm(np.asarray(want[k], np.float64))) for k in want}
    floor = 1e-4 * max((v for k, v in norms.items() if k.startswith("grad")), default=0.0)
    out = {}
    for k in got:
        a, b = np.asarray(got[k], np.float64), np.asarray(want[k], np.float64)
        if a.shape != b.shape or not np.all(np.isfinite(a)):
            out[k] = float("inf")
            continue
        out[k] = float(np.linalg.norm(a - b)) / max(norms[k], floor, 1e-30)
    return out


def _gradient_check(name: str, make_inputs) -> Callable[[str], Dict[str, float]]:
    """check(oracle) -> {output: relative error}: logits, loss and every parameter gradient of
    one training-mode forward + backward without dropout, convcore vs the oracle."""
    def check(oracle: str) -> Dict[str, float]:
        a = make_inputs(np.random.default_rng(0))
        nn = convcore_nn()
        model = _convcore_model(name, False, a["seed"]).train()
        loss_fn = nn.CrossEntropyLoss()
        logits = model(a["x"])
        loss = loss_fn(logits, a["target"])
        model.backward(loss_fn.backward())
        got = {"logits": logits, "loss": np.float64(loss)}
        got.update({"grad " + k: p.grad for k, p in model.named_parameters()})

        if oracle == "torch":
            torch = optional_torch()
            tmodel = _torch_model(name, False, _convcore_model(name, False, a["seed"])
                                  .state_dict()).train()
            tlogits = tmodel(torch.from_numpy(a["x"]))
            tloss = torch.nn.functional.cross_entropy(tlogits, torch.from_numpy(a["target"]))
            tloss.backward()
            want = {"logits": tlogits.detach().numpy(), "loss": np.float64(tloss.item())}
            want.update({"grad " + k: p.grad.numpy() for k, p in tmodel.named_parameters()})
        else:
            ref = _convcore_model(name, False, a["seed"]).train()
            with nn.use_backend("reference"):
                rlogits = ref(a["x"])
                rloss = loss_fn(rlogits, a["target"])
                ref.backward(loss_fn.backward())
            want = {"logits": rlogits, "loss": np.float64(rloss)}
            want.update({"grad " + k: p.grad for k, p in ref.named_parameters()})
        if set(got) != set(want):
            raise AssertionError(f"{name}: outputs differ: {sorted(got)} vs {sorted(want)}")
        return _errors(got, want)
    return check


def train_cases(names: Sequence[str]) -> List[Case]:
    """step and infer cases of each model (the work is images per call: the unit is img/s)."""
    cases = []
    for name in names:
        for variant in ("step", "infer"):
            builders = {"convcore": _convcore_runner(name, variant, "functional"),
                        "reference": _convcore_runner(name, variant, "reference"),
                        "torch": _torch_runner(name, variant)}
            make = _inputs(name)
            # infer: the runner compares the eval-mode logits; step: the gradient check above
            check = _gradient_check(name, make) if variant == "step" else None
            cases.append(Case("train", "model", name, variant, "img/s", float(BATCH), make,
                              builders, outputs=("logits",), rtol=2e-2 if check else 2e-3,
                              reference_ok=REFERENCE_OK[name], check=check))
    return cases
