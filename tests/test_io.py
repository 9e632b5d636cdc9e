"""convcore.save / load: round trip, atomic write, clear errors on bad files, never unpickles."""

import os
import pickle

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore.io import ARCHITECTURE_KEY, architecture


def make_model():
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=rng),
        nn.BatchNorm2d(4, momentum=0.2),
        nn.ReLU(),
        nn.Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, rng=rng), nn.Tanh())),
        nn.Residual(nn.Sequential(nn.Conv2d(4, 8, 1, rng=rng)), nn.Conv2d(4, 8, 1, rng=rng)),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.Maxout(2),
        nn.LeakyReLU(0.2),
        nn.ELU(0.5),
        nn.GlobalAvgPool2d(),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(4, 6, rng=rng),
        nn.BatchNorm1d(6),
        nn.Sigmoid(),
        fuse=False,
    )


X = np.random.default_rng(1).standard_normal((5, 1, 6, 6)).astype(np.float32)


def test_round_trip(tmp_path):
    model = make_model()
    model(X)  # move the running statistics
    model.eval()
    path = tmp_path / "model.npz"
    convcore.save(model, path)
    loaded = convcore.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.fuse is False and loaded[1].momentum == 0.2
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    loaded.eval()
    np.testing.assert_array_equal(loaded(X), model(X))
    # the file is a plain npz: np.load works and state_dict loading ignores the extra keys
    fresh = make_model()
    fresh.load_state_dict(dict(np.load(path)))
    fresh.eval()
    np.testing.assert_array_equal(fresh(X), model(X))


def test_float64_model_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64, rng=0))
    convcore.save(model, tmp_path / "m")
    assert os.path.exists(tmp_path / "m")  # the exact name, no ".npz" appended
    loaded = convcore.load(tmp_path / "m")
    assert loaded[0].weight.dtype == np.float64
    np.testing.assert_array_equal(loaded[0].weight.data, model[0].weight.data)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    convcore.save(make_model(), path)
    original = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        convcore.save(make_model(), path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_truncated_file(tmp_path):
    path = tmp_path / "model.npz"
    convcore.save(make_model(), path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="convcore model file"):
            convcore.load(bad)


def test_pickled_object_array_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    arrays = {
        ARCHITECTURE_KEY: np.frombuffer(b'{"type": "Sequential", "layers": []}', np.uint8),
        "__convcore_format__": np.array([1]),
        "0.weight": np.array([Boom()], dtype=object),
    }
    path = tmp_path / "evil.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="convcore model file"):
        convcore.load(path)
    assert not (tmp_path / "pwned").exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError):
        convcore.load(raw)
    assert not (tmp_path / "pwned").exists()
    del model


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "weights.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not written by save"):
        convcore.load(tmp_path / "weights.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        convcore.load(tmp_path / "single.npy")
    (tmp_path / "text.txt").write_text("hello")
    with pytest.raises(ValueError):
        convcore.load(tmp_path / "text.txt")
    with pytest.raises(FileNotFoundError):
        convcore.load(tmp_path / "missing.npz")
    for description in (b"not json", b'{"type": "Exec", "config": {}}',
                        b'{"type": "Linear", "config": {"in_features": 2, "evil": 1}}',
                        b'{"type": "Linear", "config": {"in_features": 1e15}}',
                        b'{"type": "Linear", "config": {"in_features": 10000000000000,'
                        b' "out_features": 10000000000000}}',
                        b"[" * 100000 + b"]" * 100000):
        np.savez(tmp_path / "arch.npz", **{ARCHITECTURE_KEY: np.frombuffer(description, np.uint8),
                                           "__convcore_format__": np.array([1])})
        with pytest.raises(ValueError):
            convcore.load(tmp_path / "arch.npz")


def test_wrong_shapes_and_missing_weights(tmp_path):
    model = make_model()
    path = tmp_path / "model.npz"
    convcore.save(model, path)
    arrays = dict(np.load(path))
    arrays["13.weight"] = np.zeros((6, 5), np.float32)
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(ValueError, match=r"13\.weight.*\(6, 5\).*\(6, 4\)"):
        convcore.load(tmp_path / "shape.npz")
    del arrays["13.weight"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match="missing"):
        convcore.load(tmp_path / "missing.npz")


def test_custom_modules_cannot_be_described():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="Custom"):
        architecture(nn.Sequential(Custom()))
