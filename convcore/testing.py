"""Testing helpers: finite-difference gradient checks and dtype-aware comparisons.

``gradcheck`` verifies a hand-written backward against central differences in float64:

    >>> import numpy as np
    >>> from convcore import reference as R
    >>> from convcore.testing import gradcheck
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    >>> gradcheck(lambda x, w: R.conv2d(x, w, padding=1),
    ...           lambda gy, x, w: R.conv2d_backward(gy, x, w, padding=1)[:2],
    ...           [x, w])
    True
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

__all__ = ["gradcheck", "numerical_gradient", "assert_close", "default_tolerances"]


def _scalar_objective(fn: Callable, inputs: list, grad_out) -> float:
    """L = sum(grad_out * fn(*inputs)): its gradient is what a backward given grad_out returns."""
    out = fn(*inputs)
    return float(np.sum(np.asarray(grad_out, dtype=np.float64) * np.asarray(out, np.float64)))


def numerical_gradient(fn: Callable, inputs: Sequence, index: int, grad_out=1.0,
                       eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``sum(grad_out * fn(*inputs))`` w.r.t. ``inputs[index]``.

    Each element is perturbed by +-eps in turn (on a float64 copy; the inputs are not
    modified): (L(x + eps) - L(x - eps)) / (2 eps). Cost: 2 calls of ``fn`` per element.
    """
    inputs = list(inputs)
    x = np.array(inputs[index], dtype=np.float64)   # a private copy we perturb in place
    inputs[index] = x
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        plus = _scalar_objective(fn, inputs, grad_out)
        flat_x[i] = saved - eps
        minus = _scalar_objective(fn, inputs, grad_out)
        flat_x[i] = saved
        flat_grad[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(fn: Callable, backward: Callable, inputs: Sequence,
              wrt: Sequence[int] | None = None, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-5, seed: int = 0) -> bool:
    """Check ``backward`` against central differences of ``fn``, in float64.

    fn(*inputs) -> ndarray or float (the forward).
    backward(grad_out, *inputs) -> the gradients of the inputs listed in ``wrt``, in that
        order (a tuple, or a single array when ``wrt`` has one entry).
    inputs: the forward's arguments; every ndarray is converted to float64. Hyper-parameters
        are best bound in ``fn``/``backward`` with a lambda.
    wrt: indices of the inputs to check (default: every float ndarray).

    A random grad_out (seeded) of the output's shape reduces the output to a scalar
    ``L = sum(grad_out * fn(*inputs))``; for a scalar output grad_out = 1.0. Returns True, or
    raises AssertionError naming the input, the worst element and both values.
    """
    inputs = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray)
              and np.issubdtype(a.dtype, np.floating) else a for a in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(inputs) if isinstance(a, np.ndarray)
               and a.dtype == np.float64]
    out = fn(*inputs)
    if np.ndim(out) == 0:
        grad_out: Union[float, np.ndarray] = 1.0
    else:
        grad_out = np.random.default_rng(seed).standard_normal(np.shape(out))
    analytic = backward(grad_out, *inputs)
    if len(wrt) == 1 and not isinstance(analytic, (tuple, list)):
        analytic = (analytic,)
    if len(analytic) != len(wrt):
        raise AssertionError(f"backward returned {len(analytic)} gradients for wrt={list(wrt)}")
    for index, got in zip(wrt, analytic):
        expected = numerical_gradient(fn, inputs, index, grad_out, eps)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != expected.shape:
            raise AssertionError(
                f"input {index}: analytic gradient shape {got.shape} != input shape "
                f"{expected.shape}"
            )
        err = np.abs(got - expected) - (atol + rtol * np.abs(expected))
        if err.size and err.max() > 0:
            worst = np.unravel_index(np.argmax(err), err.shape)
            raise AssertionError(
                f"gradcheck failed for input {index} at {tuple(int(i) for i in worst)}: "
                f"analytic {got[worst]!r} vs numerical {expected[worst]!r} "
                f"(max abs diff {np.abs(got - expected).max():.3g}, atol {atol}, rtol {rtol})"
            )
    return True


def default_tolerances(dtype) -> tuple[float, float]:
    """(rtol, atol) for comparing two computations of one op: float64 ~1e-10, float32 ~1e-4."""
    return (1e-10, 1e-10) if np.dtype(dtype) == np.float64 else (1e-4, 1e-4)


def assert_close(actual, expected, rtol: float | None = None, atol: float | None = None,
                 check_dtype: bool = True) -> None:
    """Assert equal shapes, equal dtypes (if ``check_dtype``) and values within tolerance.

    ``expected`` may be a torch tensor (it is detached and converted). Default tolerances
    come from ``default_tolerances(actual.dtype)``.
    """
    if hasattr(expected, "detach"):
        expected = expected.detach().cpu().numpy()
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    if check_dtype:
        assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != expected {expected.dtype}"
    default_rtol, default_atol = default_tolerances(actual.dtype)
    np.testing.assert_allclose(
        actual, expected,
        rtol=default_rtol if rtol is None else rtol,
        atol=default_atol if atol is None else atol,
    )
