"""The command line (demo, info, bench dispatch) and the matplotlib plots."""

import sys
import types

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore.__main__ import build_digits_cnn, main

PNG_MAGIC = b"\x89PNG"


def test_demo_trains_reports_and_plots(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    path = tmp_path / "demo.png"
    assert main(["demo", "--epochs", "1", "--quiet", "--seed", "1", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy: ")[1].split(" %")[0])
    assert accuracy > 80
    assert "images/s" in out and "speed-up" in out
    assert path.read_bytes()[:4] == PNG_MAGIC
    assert (tmp_path / "demo_features.png").read_bytes()[:4] == PNG_MAGIC


def test_info_prints_versions(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"convcore {convcore.__version__}" in out and "numpy" in out


def test_bench_is_dispatched_with_its_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("convcore.bench")
    fake.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "convcore.bench", fake)
    monkeypatch.setattr(convcore, "bench", fake, raising=False)
    assert main(["bench", "--op", "conv", "--quick"]) == 3
    assert seen == [["--op", "conv", "--quick"]]


def test_bad_command_exits():
    with pytest.raises(SystemExit):
        main(["train"])


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    from convcore.plot import plot_feature_maps, plot_filters, plot_history

    history = convcore.History()
    history.loss += [1.0, 0.5]
    history.val_loss += [1.1, 0.7]
    history.accuracy += [0.6, 0.8]
    fig = plot_history(history, tmp_path / "h.png")
    assert len(fig.axes) == 2
    assert len(plot_history({"loss": [3, 2, 1]}, tmp_path / "h2.png").axes) == 1
    model = build_digits_cnn(rng=0)
    fig = plot_filters(model[0], tmp_path / "f.png", max_filters=6)
    assert len(fig.axes) == 6
    plot_filters(np.random.default_rng(0).standard_normal((4, 3, 5, 5)), tmp_path / "rgb.png")
    model.train()
    x = np.random.default_rng(0).standard_normal((1, 8, 8)).astype(np.float32)
    fig = plot_feature_maps(model, x, tmp_path / "m.png", max_channels=3)
    assert len(fig.axes) == 8  # one row per layer with a 4-D output
    first = fig.axes[0].images[0].get_array()
    assert first.shape == (8, 3 * 9 - 1)  # 3 channels of 8x8 with 1-pixel gaps
    assert model.training  # modes restored
    for name in ("h.png", "h2.png", "f.png", "rgb.png", "m.png"):
        assert (tmp_path / name).read_bytes()[:4] == PNG_MAGIC
    with pytest.raises(ValueError, match="shape"):
        plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="one image"):
        plot_feature_maps(model, np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="4-D"):
        plot_feature_maps([nn.Flatten()], np.zeros((1, 1, 2, 2), np.float32))
