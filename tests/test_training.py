"""fit / evaluate / predict / DataLoader / summary: the digits CNN learns; convcore and torch
trained from the same weights end at the same loss; History fields; modes restored."""

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore import optim
from convcore.__main__ import build_digits_cnn, load_digits_data
from convcore.data import DataLoader
from convcore.training import History, evaluate, fit, predict


@pytest.fixture(scope="module", autouse=True)
def torch_single_thread():
    """Tiny torch ops on a shared 2-core machine: one thread avoids spinning workers."""
    try:
        import torch
    except ImportError:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    return load_digits_data(seed=0)


def test_digits_cnn_learns(digits):
    X_train, X_test, y_train, y_test = digits
    model = build_digits_cnn(rng=0)
    loss_fn = nn.CrossEntropyLoss()
    before, _ = evaluate(model, loss_fn, X_test, y_test)
    history = fit(model, loss_fn, optim.Adam(model.parameters(), lr=3e-3), X_train, y_train,
                  epochs=2, batch_size=32, seed=0, progress=False)
    loss, acc = evaluate(model, loss_fn, X_test, y_test)
    assert history.loss[1] < history.loss[0] < before
    assert loss < 0.5 * before
    assert acc > 0.9
    assert predict(model, X_test).argmax(1).tolist() != [0] * len(X_test)


def test_history_fields_and_progress_lines(digits, capsys):
    X_train, X_test, y_train, y_test = digits
    model = build_digits_cnn(rng=1)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05),
                  X_train[:128], y_train[:128], epochs=2, batch_size=64,
                  validation_data=(X_test[:64], y_test[:64]), progress=True)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "val_accuracy" in out
    assert isinstance(history, History)
    assert list(history.history) == [
        "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_s"]
    assert history.epoch == [0, 1]
    for key, values in history.history.items():
        assert len(values) == 2 and all(np.isfinite(values)), key
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)
    assert all(s > 0 for s in history.seconds)
    np.testing.assert_allclose(np.array(history.images_per_s) * history.seconds, 128)
    assert history.history["loss"] is history.loss


def test_regression_history_has_no_accuracy(capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Sequential(nn.Linear(3, 1, rng=0))
    history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=20,
                  batch_size=16, progress=False)
    assert capsys.readouterr().out == ""
    assert sorted(history.history) == ["images_per_s", "loss", "seconds"]
    assert history.accuracy == []
    assert history.loss[-1] < 1e-3 * history.loss[0]
    loss, acc = evaluate(model, nn.MSELoss(), X, y)
    assert acc is None and loss < 1e-3


def test_modes_restored_and_no_cache_after_predict(digits):
    X_train, X_test, y_train, _ = digits
    model = build_digits_cnn(rng=2)
    model[1].requires_grad_(False)  # a frozen BN runs in inference mode in fit (as Keras)
    stats = model[1].running_mean.copy()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), X_train[:64],
        y_train[:64], epochs=1, progress=False)
    assert all(m.training for m in model.modules())  # modes restored
    np.testing.assert_array_equal(model[1].running_mean, stats)
    assert not np.array_equal(model[5].running_mean, 0)
    model.train()
    out = predict(model, X_test[:10], batch_size=3)
    assert out.shape == (10, 10) and model.training
    with pytest.raises(RuntimeError):
        model.backward(np.ones_like(out))  # predict keeps no caches
    model.eval()
    np.testing.assert_allclose(out, model(X_test[:10]), rtol=1e-5, atol=1e-6)


def train_both(X, y, dtype, epochs=3):
    """Train the digits CNN (no dropout, no shuffle, SGD+momentum) in convcore and in torch
    from the same weights; returns (convcore History, torch epoch losses, model, torch model)."""
    import torch

    from convcore.interop import to_torch

    X = X.astype(dtype)
    model = build_digits_cnn(dropout=0, rng=3, dtype=dtype)
    tmodel = to_torch(model)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05,
                  momentum=0.9), X, y, epochs=epochs, batch_size=32, shuffle=False,
                  progress=False)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)
    tlosses = []
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(X), 32):
            xb, yb = torch.from_numpy(X[i:i + 32]), torch.from_numpy(y[i:i + 32])
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(xb), yb)
            loss.backward()
            topt.step()
            total += loss.item() * len(xb)
        tlosses.append(total / len(X))
    return history, tlosses, model, tmodel


def test_same_loss_as_torch_after_three_epochs(digits):
    """float32: epoch losses agree (rounding differences grow chaotically over 24 momentum
    steps, so weights drift apart by ~1e-2); float64: every weight agrees to 1e-9."""
    pytest.importorskip("torch")
    X_train, _, y_train, _ = digits
    X, y = X_train[:256], y_train[:256]
    history, tlosses, _, _ = train_both(X, y, np.float32)
    np.testing.assert_allclose(history.loss, tlosses, rtol=1e-3)
    assert history.loss[2] < 0.5 * history.loss[0]
    history, tlosses, model, tmodel = train_both(X, y, np.float64)
    np.testing.assert_allclose(history.loss, tlosses, rtol=1e-10)
    tstate = tmodel.state_dict()
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, tstate[key].numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=key)


def test_fit_rejects_bad_inputs():
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="X"):
        fit(model, nn.CrossEntropyLoss(), opt, [[1.0, 2.0, 3.0]], np.array([0]))
    with pytest.raises(ValueError, match="lengths"):
        fit(model, nn.CrossEntropyLoss(), opt, np.ones((3, 3), np.float32), np.array([0, 1]))


def test_dataloader_batches_shuffle_and_drop_last():
    X = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    loader = DataLoader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    dropped = DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and sum(len(b[1]) for b in dropped) == 8
    a, b = DataLoader(X, y, batch_size=4, seed=1), DataLoader(X, y, batch_size=4, seed=1)
    first = np.concatenate([yb for _, yb in a])
    assert sorted(first) == list(range(10)) and first.tolist() != list(range(10))
    np.testing.assert_array_equal(first, np.concatenate([yb for _, yb in b]))
    second = np.concatenate([yb for _, yb in a])
    assert second.tolist() != first.tolist()  # a new order every epoch
    for xb, yb in DataLoader(X, y, batch_size=3, seed=0):
        np.testing.assert_array_equal(xb[:, 0], yb)  # pairs stay together
    with pytest.raises(ValueError, match="lengths"):
        DataLoader(X, y[:5])
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, y, batch_size=0)


def test_summary_table():
    model = build_digits_cnn(rng=0)
    model[0].requires_grad_(False)
    text = convcore.summary(model, (1, 8, 8))
    assert "(None, 16, 8, 8)" in text and "(None, 10)" in text
    total = sum(p.size for p in model.parameters())
    assert f"Total params: {total:,}" in text
    assert f"Non-trainable params: {model[0].weight.size + model[0].bias.size:,}" in text
    # conv 16*64*(2*9+1), BN 2*1024, ReLU 1024, pool 1024, conv 32*16*(2*144+1), BN 1024,
    # ReLU 512, pool 512, flatten 0, dropout 128, linear 2*1280+10
    assert "FLOPs per image: 176.27k (176,266)" in text
    from convcore.summary import layer_flops
    assert layer_flops(model[4], (1, 16, 4, 4), (1, 32, 4, 4)) == 32 * 16 * (2 * 144 + 1)
