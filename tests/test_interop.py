"""convcore.interop: from_torch / to_torch round trips, outputs equal to 1e-5."""

import numpy as np
import pytest

import convcore.nn as nn
from convcore.interop import from_torch, to_torch, torch_classes

torch = pytest.importorskip("torch")
tnn = torch.nn


def torch_model():
    torch.manual_seed(0)
    TorchMaxout, TorchResidual = torch_classes()
    model = tnn.Sequential(
        tnn.Conv2d(3, 8, 3, stride=1, padding=1),
        tnn.BatchNorm2d(8),
        tnn.ReLU(),
        TorchResidual(tnn.Sequential(tnn.Conv2d(8, 8, 3, padding=1, groups=2), tnn.ELU(0.5))),
        TorchResidual(tnn.Conv2d(8, 4, 1), tnn.Conv2d(8, 4, 1, bias=False)),
        tnn.MaxPool2d(2),
        tnn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        TorchMaxout(2),
        tnn.LeakyReLU(0.1),
        tnn.AdaptiveAvgPool2d(1),
        tnn.Flatten(),
        tnn.Dropout(0.2),
        tnn.Linear(2, 5),
        tnn.BatchNorm1d(5),
        tnn.Tanh(),
        tnn.Linear(5, 3),
        tnn.Sigmoid(),
    )
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        for m in model.modules():
            if isinstance(m, (tnn.BatchNorm2d, tnn.BatchNorm1d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.eval()


X = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)


def test_from_torch_outputs_match():
    tmodel = torch_model()
    model = from_torch(tmodel)
    assert isinstance(model, nn.Sequential) and isinstance(model[3], nn.Residual)
    assert not model.training and not model[1].training
    expected = tmodel(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(model(X), expected, rtol=1e-5, atol=1e-5)


def test_to_torch_outputs_and_gradients_match():
    model = from_torch(torch_model())
    model.train()
    tmodel = to_torch(model)
    assert tmodel.training and tmodel[1].training
    xt = torch.from_numpy(X).requires_grad_(True)
    model[11].eval()  # dropout masks differ between libraries: compare without dropout
    tmodel[11].eval()
    yt = tmodel(xt)
    y = model(X)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    tbuffers = dict(tmodel.named_buffers())
    for name, b in model.named_buffers():  # training mode moved the running statistics alike
        np.testing.assert_allclose(b, tbuffers[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    gx = model.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_round_trip_keeps_weights_and_float64():
    model = nn.Sequential(nn.Conv2d(2, 3, (3, 1), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                                    dtype=np.float64, rng=0),
                          nn.BatchNorm2d(3, eps=1e-3, momentum=0.3, dtype=np.float64))
    tmodel = to_torch(model)
    assert tmodel[0].weight.dtype == torch.float64
    assert tmodel[0].stride == (2, 1) and tmodel[1].momentum == 0.3
    back = from_torch(tmodel)
    assert repr(back) == repr(model)
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.dtype == b.dtype


def test_unsupported_modules_raise():
    with pytest.raises(TypeError, match="GELU"):
        from_torch(tnn.Sequential(tnn.GELU()))
    with pytest.raises(TypeError, match="padding"):
        from_torch(tnn.Conv2d(1, 1, 3, padding="same"))
    with pytest.raises(TypeError, match="AdaptiveAvgPool2d"):
        from_torch(tnn.AdaptiveAvgPool2d(2))

    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match="Custom"):
        to_torch(nn.Sequential(Custom()))
