"""Optimizers with PyTorch's update rules, step for step (torch.optim, single-tensor form).

Each takes ``params``: a list of ``Parameter`` (or ``model.parameters()``), or a list of
param-group dicts ``{"params": [...], "lr": ...}`` overriding the defaults, as torch.
``step()`` updates, in place, every parameter that requires grad and has a ``.grad``;
frozen parameters and parameters without a gradient are skipped (their state does not move).
Hyper-parameters live in ``optimizer.param_groups`` (change ``group["lr"]`` for a schedule).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Union

import numpy as np

from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]

Params = Union[Iterable[Parameter], Iterable[Dict[str, Any]]]


class Optimizer:
    """Base class: parameter groups, per-parameter state, zero_grad, state_dict."""

    def __init__(self, params: Params, defaults: Dict[str, Any]) -> None:
        items = list(params)
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.defaults = dict(defaults)
        self.param_groups: List[Dict[str, Any]] = []
        seen = set()
        for group in groups:
            if not isinstance(group, dict):
                raise TypeError("params must be Parameters or dicts of param groups, not a mix")
            plist = list(group["params"])
            for p in plist:
                if not isinstance(p, Parameter):
                    raise TypeError(f"optimizer params must be Parameters, got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError("a parameter appears in more than one group")
                seen.add(id(p))
            unknown = set(group) - set(defaults) - {"params"}
            if unknown:
                raise ValueError(f"unknown optimizer options {sorted(unknown)}")
            self.param_groups.append({**self.defaults, **group, "params": plist})
        for group in self.param_groups:
            self._check_group(group)
        self.state: Dict[Parameter, Dict[str, Any]] = {}

    def _check_group(self, group: Dict[str, Any]) -> None:
        for name in ("lr", "weight_decay", "eps", "momentum"):
            if name in group and group[name] < 0:
                raise ValueError(f"invalid {name}: {group[name]} (must be >= 0)")

    def zero_grad(self) -> None:
        """Reset the gradients of all parameters to None (torch's set_to_none=True)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad and p.grad is not None:
                    self._update(p, p.grad, self.state.setdefault(p, {}), group)

    def _update(self, p: Parameter, grad: np.ndarray, state: Dict[str, Any], group) -> None:
        raise TypeError(f"{type(self).__name__} does not define _update()")

    # ---- persistence ----------------------------------------------------------------------
    def _flat_params(self) -> List[Parameter]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {name: array or number}}, "param_groups": [...]}`` (copies);
        parameters are numbered in group order, as torch."""
        index = {id(p): i for i, p in enumerate(self._flat_params())}
        state = {
            index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for p, s in self.state.items()
        }
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = [index[id(p)] for p in group["params"]]
            groups.append(g)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by ``state_dict``."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)
        ):
            raise ValueError("load_state_dict: the parameter groups do not match this optimizer")
        flat = self._flat_params()
        new_state: Dict[Parameter, Dict[str, Any]] = {}
        for key, s in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(flat):
                raise ValueError(f"load_state_dict: state for parameter {i} out of range")
            p = flat[i]
            restored = {}
            for name, value in s.items():
                if isinstance(value, np.ndarray):
                    if value.shape != p.shape:
                        raise ValueError(
                            f"load_state_dict: state {name!r} of parameter {i} has shape "
                            f"{value.shape}, the parameter has {p.shape}"
                        )
                    value = value.astype(p.dtype, copy=True)
                restored[name] = value
            new_state[p] = restored
        for g, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in g.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k, v in group.items():
                if k != "params":
                    lines.append(f"    {k}: {v}")
        return "\n".join(lines) + "\n)"


def _with_weight_decay(p: Parameter, grad: np.ndarray, weight_decay: float) -> np.ndarray:
    return grad + weight_decay * p.data if weight_decay else grad


class SGD(Optimizer):
    """SGD with optional momentum, dampening, Nesterov momentum and (L2) weight decay.

    d = g + wd * p; buf = d (first step) else momentum * buf + (1 - dampening) * d;
    d = d + momentum * buf (Nesterov) or buf; p -= lr * d.
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        d = _with_weight_decay(p, grad, group["weight_decay"])
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(d, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * d
            d = d + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * d


class Adagrad(Optimizer):
    """Adagrad: sum += g^2; p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = np.full(p.shape, group["initial_accumulator_value"], p.dtype)
        state["step"] += 1
        g = _with_weight_decay(p, grad, group["weight_decay"])
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p.data -= clr * (g / (np.sqrt(state["sum"]) + group["eps"]))


class RMSprop(Optimizer):
    """RMSprop: v = alpha v + (1 - alpha) g^2; centered subtracts the squared mean gradient;
    with momentum buf = momentum * buf + g / (sqrt(v) + eps), p -= lr * buf."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros(p.shape, p.dtype)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros(p.shape, p.dtype)
            if group["centered"]:
                state["grad_avg"] = np.zeros(p.shape, p.dtype)
        state["step"] += 1
        alpha = group["alpha"]
        g = _with_weight_decay(p, grad, group["weight_decay"])
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (g * g)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (g - grad_avg)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * (g / avg)


class Adam(Optimizer):
    """Adam (optionally AMSGrad), L2 weight decay added to the gradient (torch.optim.Adam).

    m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    """

    _decoupled = False

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}: each must be in [0, 1)")
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(p.shape, p.dtype)
            state["exp_avg_sq"] = np.zeros(p.shape, p.dtype)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros(p.shape, p.dtype)
        state["step"] += 1
        step = state["step"]
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if self._decoupled:
            p.data *= 1 - lr * wd
            g = grad
        else:
            g = _with_weight_decay(p, grad, wd)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (g - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (g * g)
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = np.sqrt(second) / bias_correction2_sqrt + group["eps"]
        p.data -= step_size * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (p *= 1 - lr * wd before the update); wd=1e-2."""

    _decoupled = True

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
