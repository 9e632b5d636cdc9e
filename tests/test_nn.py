"""convcore.nn layers: backward vs finite differences (float64), forward+backward vs torch
modules with copied weights, freezing, state dicts, containers, fused Conv/BN+ReLU paths."""

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore import init
from convcore.testing import gradcheck

RNG = np.random.default_rng(1234)


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# ---- finite differences ------------------------------------------------------------------
def check_layer_grads(layer, x, atol=1e-6):
    """gradcheck a layer w.r.t. its input and every trainable parameter (float64)."""
    params = [p for p in layer.parameters() if p.requires_grad]
    dropout_seed = 7

    def run(x, pvals):
        for p, v in zip(params, pvals):
            p.data[...] = v
        if isinstance(layer, nn.Dropout):
            layer.rng = np.random.default_rng(dropout_seed)
        return layer(x)

    def fn(x, *pvals):
        return run(x, pvals)

    def backward(g, x, *pvals):
        layer.zero_grad()
        run(x, pvals)
        gx = layer.backward(g)
        return (gx, *[p.grad for p in params])

    assert gradcheck(fn, backward, [x, *[p.data.copy() for p in params]], atol=atol)


def f64(cls, *args, **kw):
    return cls(*args, dtype=np.float64, rng=0, **kw)


GRAD_CASES = [
    ("conv", lambda: f64(nn.Conv2d, 2, 3, 3, padding=1), (2, 2, 5, 4)),
    ("conv_s2_d2_nobias", lambda: f64(nn.Conv2d, 2, 2, 3, stride=2, dilation=2, bias=False),
     (1, 2, 7, 6)),
    ("conv_groups", lambda: f64(nn.Conv2d, 4, 2, (1, 3), groups=2, padding=(0, 1)), (2, 4, 3, 3)),
    ("linear", lambda: f64(nn.Linear, 5, 3), (4, 5)),
    ("linear_3d", lambda: f64(nn.Linear, 3, 2), (2, 2, 3)),
    ("maxpool", lambda: f64(nn.MaxPool2d, 3, stride=2, padding=1), (2, 2, 5, 5)),
    ("avgpool", lambda: f64(nn.AvgPool2d, 2, padding=1, count_include_pad=False), (1, 2, 5, 3)),
    ("gap", lambda: f64(nn.GlobalAvgPool2d), (2, 3, 3, 2)),
    ("bn2d", lambda: f64(nn.BatchNorm2d, 3), (3, 3, 2, 2)),
    ("bn1d", lambda: f64(nn.BatchNorm1d, 4), (5, 4)),
    ("flatten", lambda: f64(nn.Flatten), (2, 2, 2, 3)),
    ("dropout", lambda: f64(nn.Dropout, 0.4), (3, 7)),
    ("relu", lambda: f64(nn.ReLU), (3, 6)),
    ("leaky", lambda: f64(nn.LeakyReLU, 0.2), (3, 6)),
    ("elu", lambda: f64(nn.ELU, 0.7), (3, 6)),
    ("sigmoid", lambda: f64(nn.Sigmoid), (3, 6)),
    ("tanh", lambda: f64(nn.Tanh), (3, 6)),
    ("maxout", lambda: f64(nn.Maxout, 3), (2, 6, 2, 2)),
]


@pytest.mark.parametrize("name,make,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_layer_backward_matches_finite_differences(name, make, shape):
    layer = make()
    for p in layer.parameters():  # move away from the special init values (ones, zeros)
        p.data[...] = randn(*p.shape)
    check_layer_grads(layer, randn(*shape))


def test_batchnorm_eval_backward_matches_finite_differences():
    bn = f64(nn.BatchNorm2d, 3)
    bn.weight.data[...] = randn(3)
    bn.running_mean[...] = randn(3)
    bn.running_var[...] = RNG.uniform(0.5, 2.0, 3)
    bn.eval()
    check_layer_grads(bn, randn(2, 3, 2, 3))


def small_cnn(dtype=np.float64, fuse=True, rng=0):
    rng = np.random.default_rng(rng)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, dtype=dtype, rng=rng),
        nn.BatchNorm2d(4, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3, dtype=dtype, rng=rng),
        fuse=fuse,
    )


@pytest.mark.parametrize("fuse", [True, False])
def test_sequential_backward_matches_finite_differences(fuse):
    model = small_cnn(fuse=fuse)
    model[3].weight.data[...] = randn(4)
    check_layer_grads(model, randn(2, 2, 4, 4))


def test_residual_backward_matches_finite_differences():
    block = nn.Sequential(f64(nn.Conv2d, 3, 3, 3, padding=1), f64(nn.Tanh))
    check_layer_grads(nn.Residual(block), randn(2, 3, 3, 3))
    shortcut = f64(nn.Conv2d, 3, 2, 1)
    block2 = nn.Sequential(f64(nn.Conv2d, 3, 2, 3, padding=1), f64(nn.ELU))
    check_layer_grads(nn.Residual(block2, shortcut), randn(2, 3, 3, 3))


# ---- versus torch ------------------------------------------------------------------------
def torch_copy(layer, tlayer):
    """Load the convcore layer's state_dict into the torch module (same key names)."""
    import torch

    state = {k: torch.from_numpy(np.array(v)) for k, v in layer.state_dict().items()}
    tlayer.load_state_dict(state, strict=True)
    return tlayer


def compare_with_torch(layer, tlayer, x, rtol=1e-5, atol=1e-5):
    import torch

    torch_copy(layer, tlayer)
    tlayer.train(layer.training)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    y = layer(x)
    yt = tlayer(xt)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=atol)
    assert y.dtype == x.dtype
    g = RNG.standard_normal(y.shape).astype(x.dtype)
    layer.zero_grad()
    gx = layer.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=rtol, atol=atol)
    tparams = dict(tlayer.named_parameters())
    names = [n for n, _ in layer.named_parameters()]
    assert sorted(names) == sorted(tparams)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=rtol, atol=atol)
    tbuffers = dict(tlayer.named_buffers())
    for name, b in layer.named_buffers():
        np.testing.assert_allclose(b, tbuffers[name].numpy(), rtol=rtol, atol=atol)


def torch_pairs():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    f = np.float32
    pairs = [
        ("conv", nn.Conv2d(3, 5, 3, stride=2, padding=1, rng=1), tnn.Conv2d(3, 5, 3, 2, 1),
         (2, 3, 9, 7)),
        ("conv_dil_groups", nn.Conv2d(4, 6, (3, 2), dilation=(2, 1), groups=2, rng=2),
         tnn.Conv2d(4, 6, (3, 2), dilation=(2, 1), groups=2), (1, 4, 8, 5)),
        ("linear", nn.Linear(7, 4, rng=3), tnn.Linear(7, 4), (5, 7)),
        ("linear_nobias", nn.Linear(7, 4, bias=False, rng=3), tnn.Linear(7, 4, bias=False),
         (5, 7)),
        ("maxpool", nn.MaxPool2d(3, 2, 1), tnn.MaxPool2d(3, 2, 1), (2, 3, 7, 6)),
        ("avgpool", nn.AvgPool2d(2, 1, 1), tnn.AvgPool2d(2, 1, 1), (2, 3, 5, 4)),
        ("gap", nn.GlobalAvgPool2d(), tnn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
        ("bn2d", nn.BatchNorm2d(3, momentum=0.2), tnn.BatchNorm2d(3, momentum=0.2),
         (4, 3, 3, 5)),
        ("bn1d", nn.BatchNorm1d(6, eps=1e-3), tnn.BatchNorm1d(6, eps=1e-3), (8, 6)),
        ("flatten", nn.Flatten(), tnn.Flatten(), (2, 3, 2, 2)),
        ("relu", nn.ReLU(), tnn.ReLU(), (4, 9)),
        ("leaky", nn.LeakyReLU(0.1), tnn.LeakyReLU(0.1), (4, 9)),
        ("elu", nn.ELU(0.5), tnn.ELU(0.5), (4, 9)),
        ("sigmoid", nn.Sigmoid(), tnn.Sigmoid(), (4, 9)),
        ("tanh", nn.Tanh(), tnn.Tanh(), (4, 9)),
        ("dropout_eval", nn.Dropout(0.3).eval(), tnn.Dropout(0.3), (4, 9)),
        ("cnn", small_cnn(f, rng=5),
         tnn.Sequential(tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.Conv2d(4, 4, 3, padding=1),
                        tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                        tnn.Linear(16, 3)), (3, 2, 4, 4)),
        ("cnn_eval", small_cnn(f, rng=6).eval(),
         tnn.Sequential(tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.Conv2d(4, 4, 3, padding=1),
                        tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                        tnn.Linear(16, 3)), (3, 2, 4, 4)),
    ]
    return {name: rest for name, *rest in pairs}


TORCH_PAIR_NAMES = ["conv", "conv_dil_groups", "linear", "linear_nobias", "maxpool", "avgpool",
                    "gap", "bn2d", "bn1d", "flatten", "relu", "leaky", "elu", "sigmoid", "tanh",
                    "dropout_eval", "cnn", "cnn_eval"]


@pytest.mark.parametrize("name", TORCH_PAIR_NAMES)
def test_forward_backward_match_torch(name):
    layer, tlayer, shape = torch_pairs()[name]
    compare_with_torch(layer, tlayer, RNG.standard_normal(shape).astype(np.float32))


def test_every_torch_pair_is_run():
    assert sorted(torch_pairs()) == sorted(TORCH_PAIR_NAMES)


def test_dropout_training_statistics_and_mask_reuse():
    layer = nn.Dropout(0.25, rng=3)
    x = np.ones((200, 100), np.float32)
    y = layer(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    g = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(g, y)  # same mask, same scale
    assert not np.array_equal(layer(x), y)  # a fresh mask per forward


def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    logits = RNG.standard_normal((6, 4)).astype(np.float32)
    target = RNG.integers(0, 4, 6)
    ce = nn.CrossEntropyLoss()
    lt = torch.from_numpy(logits).requires_grad_(True)
    expected = torch.nn.functional.cross_entropy(lt, torch.from_numpy(target))
    assert isinstance(ce(logits, target), float)
    assert ce(logits, target) == pytest.approx(expected.item(), rel=1e-5)
    expected.backward()
    np.testing.assert_allclose(ce.backward(), lt.grad.numpy(), rtol=1e-5, atol=1e-6)

    pred, tgt = randn(3, 5, dtype=np.float32), randn(3, 5, dtype=np.float32)
    mse = nn.MSELoss()
    pt = torch.from_numpy(pred).requires_grad_(True)
    expected = torch.nn.functional.mse_loss(pt, torch.from_numpy(tgt))
    assert mse(pred, tgt) == pytest.approx(expected.item(), rel=1e-5)
    expected.backward()
    np.testing.assert_allclose(mse.backward(), pt.grad.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(RuntimeError):
        nn.MSELoss().backward()


# ---- fusion ------------------------------------------------------------------------------
def test_fused_paths_are_used_and_equal_unfused(monkeypatch):
    calls = []
    real_conv, real_bn = convcore.functional.conv2d, convcore.functional.batch_norm2d

    def conv_spy(*args, **kw):
        calls.append(("conv", kw.get("activation")))
        return real_conv(*args, **kw)

    def bn_spy(*args, **kw):
        calls.append(("bn", kw.get("activation")))
        return real_bn(*args, **kw)

    monkeypatch.setattr(convcore.functional, "conv2d", conv_spy)
    monkeypatch.setattr(convcore.functional, "batch_norm2d", bn_spy)
    x = randn(3, 2, 4, 4, dtype=np.float32)
    g = randn(3, 3, dtype=np.float32)
    fused, plain = small_cnn(np.float32, fuse=True), small_cnn(np.float32, fuse=False)
    results = []
    for model in (fused, plain):
        calls.clear()
        y = model(x)
        gx = model.backward(g)
        results.append((y, gx, [p.grad for p in model.parameters()], list(calls)))
    assert results[0][3] == [("conv", "relu"), ("conv", None), ("bn", "relu")]
    assert results[1][3] == [("conv", None), ("conv", None), ("bn", None)]
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_leaky_relu_after_conv_is_not_fused(monkeypatch):
    seen = []
    real = convcore.functional.conv2d
    monkeypatch.setattr(
        convcore.functional, "conv2d", lambda *a, **k: seen.append(k["activation"]) or real(*a, **k)
    )
    nn.Sequential(nn.Conv2d(1, 2, 1, rng=0), nn.LeakyReLU())(randn(1, 1, 2, 2, dtype=np.float32))
    assert seen == [None]


# ---- freezing, modes, caches -------------------------------------------------------------
def test_frozen_parameters_get_no_grad_and_no_update():
    from convcore.optim import SGD

    model = small_cnn(np.float32)
    model[0].requires_grad_(False)
    before = model[0].weight.data.copy()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = randn(2, 2, 4, 4, dtype=np.float32)
    gx = model.backward(np.ones((2, 3), np.float32)) if model(x) is not None else None
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None
    assert gx.shape == x.shape and np.abs(gx).sum() > 0  # the input gradient still flows
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, before)
    assert not np.array_equal(model[2].weight.data, small_cnn(np.float32)[2].weight.data)
    model.requires_grad_(True)
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_gradient_of_input_matches_unfrozen():
    model = small_cnn()
    x = randn(2, 2, 4, 4)
    g = randn(2, 3)
    model(x)
    expected = model.backward(g)
    model.requires_grad_(False)
    model(x)
    np.testing.assert_allclose(model.backward(g), expected, rtol=1e-12)


def test_grads_accumulate_until_zero_grad():
    layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    x = randn(4, 3)
    g = randn(4, 2)
    layer(x)
    layer.backward(g)
    first = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
    layer.zero_grad()
    assert layer.weight.grad is None


def test_train_eval_and_no_grad():
    model = small_cnn(np.float32)
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    x = randn(2, 2, 4, 4, dtype=np.float32)
    y = model(x)
    assert model.backward(np.ones_like(y)).shape == x.shape  # eval-mode backward works
    running = model[3].running_mean.copy()
    model(x)
    np.testing.assert_array_equal(model[3].running_mean, running)  # eval: stats frozen
    with nn.no_grad():
        model(x)
    with pytest.raises(RuntimeError, match="cache"):
        model.backward(np.ones_like(y))
    model.train()
    model(x)
    assert not np.array_equal(model[3].running_mean, running)
    assert int(model[3].num_batches_tracked) == 1


def test_backend_switch_gives_the_same_results():
    model = small_cnn(np.float32)
    x = randn(2, 2, 4, 4, dtype=np.float32)
    y = model(x)
    with nn.use_backend("reference"):
        assert nn.get_backend() == "reference"
        y_ref = model(x)
    assert nn.get_backend() == "functional"
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="backend"):
        nn.set_backend("cuda")


# ---- state dicts -------------------------------------------------------------------------
def test_state_dict_round_trip_through_npz(tmp_path):
    model = small_cnn(np.float32, rng=1)
    model(randn(4, 2, 4, 4, dtype=np.float32))  # move the BN running statistics
    path = tmp_path / "w.npz"
    np.savez(path, **model.state_dict())
    other = small_cnn(np.float32, rng=2).eval()
    model.eval()
    x = randn(3, 2, 4, 4, dtype=np.float32)
    assert not np.allclose(other(x), model(x))
    other.load_state_dict(dict(np.load(path)))
    np.testing.assert_array_equal(other(x), model(x))
    keys = list(model.state_dict())
    assert keys[:6] == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"]
    assert "3.running_var" in keys and "3.num_batches_tracked" in keys


def test_state_dict_returns_copies_and_load_checks():
    model = small_cnn(np.float32)
    state = model.state_dict()
    state["0.weight"][...] = 0
    assert np.abs(model[0].weight.data).sum() > 0
    bad = dict(state)
    bad["0.weight"] = np.zeros((4, 2, 3, 2), np.float32)
    with pytest.raises(ValueError, match=r"0\.weight.*\(4, 2, 3, 2\).*\(4, 2, 3, 3\)"):
        model.load_state_dict(bad)
    missing = dict(state)
    del missing["7.bias"]
    with pytest.raises(ValueError, match="7.bias"):
        model.load_state_dict(missing)
    result = model.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["7.bias"]
    with pytest.raises(ValueError, match="extra"):
        model.load_state_dict({**state, "extra": np.zeros(1)})


def test_state_dict_matches_torch_names():
    torch = pytest.importorskip("torch")
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    )
    assert list(small_cnn().state_dict()) == list(tmodel.state_dict())


# ---- containers --------------------------------------------------------------------------
def test_sequential_indexing_slicing_len_iter():
    model = small_cnn(np.float32)
    assert len(model) == 8
    assert isinstance(model[0], nn.Conv2d) and isinstance(model[-1], nn.Linear)
    head = model[:5]
    assert isinstance(head, nn.Sequential) and len(head) == 5
    assert head[0] is model[0]
    assert [type(m) for m in model] == [type(m) for m in model.layers]
    model.eval()
    x = randn(2, 2, 4, 4, dtype=np.float32)
    np.testing.assert_allclose(model[5:](model[:5](x)), model(x), rtol=1e-6)
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), "relu")
    with pytest.raises(IndexError):
        model[8]


def test_residual_forward_and_torch():
    torch = pytest.importorskip("torch")
    block = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, rng=0), nn.BatchNorm2d(3), nn.ReLU())
    res = nn.Residual(block)
    x = randn(2, 3, 4, 4, dtype=np.float32)
    y = res(x)
    np.testing.assert_allclose(y, block(x) + x, rtol=1e-6)
    tblock = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                                 torch.nn.ReLU())
    torch_copy(block, tblock)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = tblock(xt) + xt
    g = randn(*y.shape, dtype=np.float32)
    res(x)
    gx = res.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert [n for n, _ in res.named_parameters()][:2] == ["block.0.weight", "block.0.bias"]
    with pytest.raises(ValueError, match="shape"):
        nn.Residual(nn.Conv2d(3, 2, 1))(x)


# ---- init --------------------------------------------------------------------------------
def test_default_init_is_pytorch_like_and_seeded():
    conv = nn.Conv2d(8, 16, 3, rng=0)
    bound = 1 / np.sqrt(8 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound
    np.testing.assert_array_equal(conv.weight.data, nn.Conv2d(8, 16, 3, rng=0).weight.data)
    assert not np.array_equal(conv.weight.data, nn.Conv2d(8, 16, 3, rng=1).weight.data)
    assert conv.weight.dtype == np.float32
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(3, 2, dtype=np.int32)


def test_init_functions():
    w = np.empty((200, 100, 3, 3))
    init.kaiming_normal_(w, nonlinearity="relu", rng=0)
    assert w.std() == pytest.approx(np.sqrt(2 / 900), rel=0.02)
    init.xavier_uniform_(w, rng=0)
    bound = np.sqrt(6 / (900 + 1800))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    init.xavier_normal(w, rng=1)
    assert w.std() == pytest.approx(np.sqrt(2 / 2700), rel=0.02)
    init.kaiming_uniform(w, rng=2)
    assert np.abs(w).max() <= np.sqrt(6 / 900)
    p = nn.Parameter(np.empty((2, 3)))
    assert init.ones_(p) is p.data and (p.data == 1).all()
    assert (init.zeros(p) == 0).all()
    with pytest.raises(ValueError):
        init.kaiming_uniform_(np.empty(3))
