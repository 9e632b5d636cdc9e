"""The benchmark harness: JSON structure, wrong results caught, the no-torch path, the peak loop.

Runs on the "tiny" shapes with --quick, so each run takes about a second.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import convcore
import convcore.functional
from convcore import _kernels
from convcore.bench import BenchMismatch, main, run_benchmarks
from convcore.bench import cli as bench_cli
from convcore.bench.cases import select_cases
from convcore.bench.peak import measure_peak_gflops
from convcore.bench.report import geomean
from convcore.bench.runner import Timing, relative_error

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# FLOP per round of each ISA's loop on one thread (chains x lanes x 2), see csrc/bench/.
FLOP_PER_ROUND = {"scalar": 16 * 2, "avx2": 12 * 8 * 2, "avx512": 16 * 16 * 2}


def test_cli_writes_json_with_every_sample(tmp_path, capsys):
    path = tmp_path / "out.json"
    status = main(["--op", "conv", "--shapes", "tiny", "--threads", "1,2", "--quick", "--compare",
                   "reference",
                   "--repeat", "3", "--json", str(path)])
    assert status == 0
    out = capsys.readouterr()
    assert "geomean" in out.out and "thread scaling" in out.out and "FMA peak" in out.out
    assert "bench: [" in out.err                       # progress goes to stderr

    report = json.loads(path.read_text())
    assert report["schema"] == "convcore-bench/1"
    machine = report["machine"]
    for key in ("cpu", "flags", "isa", "cores", "threads"):
        assert key in machine
    assert machine["isa"] == _kernels.isa() and machine["threads"] == [1, 2]
    assert report["versions"]["convcore"] == convcore.__version__
    assert report["versions"]["numpy"] == np.__version__
    assert set(report["peak"]["gflops"]) == {"1", "2"}
    assert all(g > 0 for g in report["peak"]["gflops"].values())

    cases = report["cases"]
    assert {(c["variant"], c["threads"]) for c in cases} == {
        ("fwd", 1), ("fwd", 2), ("fwd+bwd", 1), ("fwd+bwd", 2)}
    for case in cases:
        assert case["rounds"] == 3
        ours = case["impls"]["convcore"]
        assert len(ours["samples_ms"]) == 3
        assert ours["min_ms"] <= ours["q1_ms"] <= ours["median_ms"] <= ours["q3_ms"]
        assert ours["median_ms"] == pytest.approx(float(np.median(ours["samples_ms"])))
        assert case["unit"] == "GF/s" and ours["rate"] > 0
        peak = report["peak"]["gflops"][str(case["threads"])]
        assert case["pct_peak"] == pytest.approx(100 * ours["rate"] / peak)
        assert max(case["check"]["errors"].values()) <= case["check"]["rtol"]
        compare = case["compare"]
        assert compare == report["settings"]["compare"]
        other = case["impls"][compare]
        assert case["ratio"] == pytest.approx(other["median_ms"] / ours["median_ms"])
    ratios = [c["ratio"] for c in cases if c["threads"] == 1]
    assert report["geomean"]["conv"]["1"] == pytest.approx(geomean(ratios))
    assert len(report["scaling"]) == 2 and all(r["convcore"] > 0 for r in report["scaling"])
    assert report["memory"][0]["shape"] == "tiny"
    if sys.platform.startswith("linux"):
        assert report["memory"][0]["convcore"]["fwd"] >= 0


def test_wrong_result_is_caught(monkeypatch, capsys):
    real_conv2d = convcore.functional.conv2d

    def garbage_conv2d(*args, **kwargs):
        y = real_conv2d(*args, **kwargs)
        y[..., 0] += 1.0                                # wrong in one column only
        return y

    monkeypatch.setattr(convcore.functional, "conv2d", garbage_conv2d)
    with pytest.raises(BenchMismatch, match=r"conv/conv2d/tiny/fwd: .*output 'y'") as err:
        run_benchmarks(["conv"], ["tiny"], [1], repeat=3, quick=True, memory=False)
    assert err.value.report["failures"]                 # every case ran, failures collected
    assert main(["--op", "conv", "--shapes", "tiny", "--quick", "--no-memory"]) == 1
    assert "RESULT MISMATCH" in capsys.readouterr().err


def _patched(real, change):
    """real op with ``change`` applied to its main output (the first one of a tuple)."""
    def op(*args, **kwargs):
        out = real(*args, **kwargs)
        return (change(out[0]), *out[1:]) if isinstance(out, tuple) else change(out)
    return op


def test_wrong_shape_and_nan_are_caught(monkeypatch):
    real = convcore.functional.max_pool2d
    monkeypatch.setattr(convcore.functional, "max_pool2d", _patched(real, lambda y: y[..., :-1]))
    with pytest.raises(BenchMismatch, match="max_pool2d 2x2/tiny/fwd: output 'y' has shape"):
        run_benchmarks(["pool"], ["tiny"], [1], repeat=3, quick=True)
    monkeypatch.setattr(convcore.functional, "max_pool2d",
                        _patched(real, lambda y: np.full_like(y, np.nan)))
    with pytest.raises(BenchMismatch, match="max_pool2d 2x2/tiny/fwd: .*relative error inf"):
        run_benchmarks(["pool"], ["tiny"], [1], repeat=3, quick=True)


def test_without_torch_compares_with_reference(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)     # `import torch` now raises ImportError
    report = run_benchmarks(["norm"], ["tiny"], [1], compare="torch", repeat=3, quick=True)
    assert report["settings"]["compare"] == "reference"
    assert report["versions"]["torch"] is None
    assert any("torch is not importable" in n for n in report["notes"])
    assert "torch is not importable" in capsys.readouterr().err
    assert report["cases"]
    for case in report["cases"]:
        assert case["check"]["oracle"] == "reference"
        assert set(case["impls"]) >= {"convcore", "reference"} and "torch" not in case["impls"]
        assert case["ratio"] > 0


def test_train_is_skipped_with_a_reason_without_convcore_nn(monkeypatch):
    monkeypatch.setattr(bench_cli, "convcore_nn", lambda: None)
    report = run_benchmarks(["train"], None, [1], quick=True)
    assert report["cases"] == []
    assert "convcore.nn" in report["skipped"][0]["reason"]


def test_peak_loop_counts_its_flops_exactly():
    for threads in (1, 2):
        flops, seconds = _kernels.fma_peak_run(1000, threads)
        assert flops == 1000 * threads * FLOP_PER_ROUND[_kernels.isa()]
        assert seconds > 0
    assert 0 < measure_peak_gflops(1, runs=2, seconds=0.01) < 1e5
    with pytest.raises(ValueError, match="n_threads"):
        _kernels.fma_peak_run(10, 0)


def test_every_isa_has_a_peak_loop(isa):
    flops, _ = _kernels.fma_peak_run(100, 1)
    assert flops == 100 * FLOP_PER_ROUND[isa]


def test_statistics_and_errors():
    t = Timing([0.004, 0.001, 0.003, 0.002, 0.005], inner=1)
    assert t.median == 0.003
    d = t.as_dict(work=3e9, unit="GF/s")
    assert d["rate"] == pytest.approx(1000.0) and d["q1_ms"] == pytest.approx(2.0)
    assert geomean([1.0, 4.0, None]) == pytest.approx(2.0)
    assert relative_error(np.array([1.0, np.nan]), np.ones(2)) == math.inf
    assert relative_error(np.ones(3), np.ones(2)) == math.inf
    assert relative_error(np.array([1.0, 2.1]), np.array([1.0, 2.0])) == pytest.approx(0.05)


def test_cases_cover_issue_shapes_and_flops():
    conv = select_cases("conv")
    assert len(conv) == 18                              # 9 shapes x (fwd, fwd+bwd)
    vgg28 = {c.variant: c.work for c in conv if c.shape == "vgg-28"}
    fwd = 2 * 8 * 128 * 28 * 28 * 128 * 3 * 3
    assert vgg28 == {"fwd": fwd, "fwd+bwd": 3 * fwd}
    s2 = next(c for c in conv if c.shape == "s2-3x3" and c.variant == "fwd")
    assert s2.work == 2 * 8 * 128 * 28 * 28 * 64 * 9   # stride 2: P = Q = 28
    assert {c.cache for c in select_cases("pool")} == {"hot", "cold"}
    with pytest.raises(ValueError, match="unknown conv shape"):
        select_cases("conv", ["nope"])


def test_cli_rejects_bad_arguments():
    with pytest.raises(SystemExit, match="unknown shape"):
        main(["--op", "conv", "--shapes", "nope", "--quick"])
    with pytest.raises(SystemExit, match="--threads"):
        main(["--op", "conv", "--shapes", "tiny", "--threads", "0"])
    with pytest.raises(SystemExit):                    # argparse: unknown op
        main(["--op", "conv,bogus"])
    assert bench_cli._op_list("pool,norm") == ["pool", "norm"]
    assert bench_cli._op_list("all") == ["conv", "pool", "norm", "pointwise", "train"]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "ratios.png"
    assert main(["--op", "conv", "--shapes", "tiny", "--quick", "--repeat", "3", "--no-memory",
                 "--compare", "reference", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plain_pytest_does_not_collect_the_benchmarks():
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert "tests/test_bench.py" in out.stdout
    assert "bench/" not in out.stdout.replace("tests/test_bench.py", "")


def test_training_step_check_catches_a_wrong_gradient(monkeypatch):
    pytest.importorskip("convcore.nn")
    from convcore.bench.runner import check_case

    step = next(c for c in select_cases("train", ["digits-cnn"]) if c.variant == "step")
    errors = check_case(step, "reference", {})
    assert "loss" in errors and any(k.startswith("grad 0.") for k in errors)
    real = convcore.functional.conv2d_backward

    def wrong_weight_gradient(*args, **kwargs):
        gx, gw, gb = real(*args, **kwargs)
        return gx, (None if gw is None else 2 * gw), gb

    monkeypatch.setattr(convcore.functional, "conv2d_backward", wrong_weight_gradient)
    with pytest.raises(BenchMismatch, match=r"digits-cnn/step: .*'grad \d\.weight'"):
        check_case(step, "reference", {})
