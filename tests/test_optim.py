"""Optimizers vs torch.optim: same init, same gradients, 20 steps, parameters equal."""

import numpy as np
import pytest

import convcore.nn as nn
from convcore import optim

torch = pytest.importorskip("torch")

STEPS = 20

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
]


def run_both(name, kwargs, dtype, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (4,), (2, 3, 3, 3)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    params = [nn.Parameter(a.copy()) for a in init]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    topt = getattr(torch.optim, name)(tparams, foreach=False, **kwargs)
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        opt.zero_grad()
        topt.zero_grad()
        for p, tp, g in zip(params, tparams, grads):
            p.grad = g.copy()
            tp.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    return params, tparams, opt, topt


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_float64(name, kwargs):
    params, tparams, _, _ = run_both(name, kwargs, np.float64)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_float32(name, kwargs):
    params, tparams, _, _ = run_both(name, kwargs, np.float32)
    for p, tp in zip(params, tparams):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_resume_equals_uninterrupted():
    """10 steps, save optimizer state, rebuild, 10 more == 20 steps straight."""
    rng = np.random.default_rng(3)
    start = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(20)]

    def steps(opt, p, gs):
        for g in gs:
            p.grad = g.copy()
            opt.step()

    straight = nn.Parameter(start.copy())
    steps(optim.Adam([straight], lr=0.1, amsgrad=True), straight, grads)
    p = nn.Parameter(start.copy())
    first = optim.Adam([p], lr=0.1, amsgrad=True)
    steps(first, p, grads[:10])
    saved = first.state_dict()
    second = optim.Adam([p], lr=0.5, amsgrad=True)
    second.load_state_dict(saved)
    assert second.param_groups[0]["lr"] == 0.1
    steps(second, p, grads[10:])
    np.testing.assert_array_equal(p.data, straight.data)
    saved["state"][0]["exp_avg"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="shape"):
        second.load_state_dict(saved)


def test_frozen_and_gradless_parameters_are_skipped():
    a, b, c = (nn.Parameter(np.ones(3)) for _ in range(3))
    b.requires_grad = False
    for p in (a, b):
        p.grad = np.ones(3)
    opt = optim.SGD([a, b, c], lr=0.5, momentum=0.9, weight_decay=0.1)
    opt.step()
    np.testing.assert_allclose(a.data, 1 - 0.5 * 1.1)
    np.testing.assert_array_equal(b.data, 1)
    np.testing.assert_array_equal(c.data, 1)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_accepts_module_parameters_generator_and_param_groups():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 4
    groups = optim.Adam(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}], lr=0.01
    )
    assert [g["lr"] for g in groups.param_groups] == [0.01, 0.5]


def test_param_groups_match_torch():
    rng = np.random.default_rng(5)
    init = [rng.standard_normal(3) for _ in range(2)]
    params = [nn.Parameter(a.copy()) for a in init]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.3}], lr=0.1,
                    momentum=0.9)
    topt = torch.optim.SGD([{"params": [tparams[0]]}, {"params": [tparams[1]], "lr": 0.3}],
                           lr=0.1, momentum=0.9)
    for _ in range(5):
        for p, tp in zip(params, tparams):
            g = rng.standard_normal(3)
            p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


def test_bad_arguments():
    p = [nn.Parameter(np.ones(2))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(TypeError, match="Parameter"):
        optim.SGD([np.ones(2)], lr=0.1)
