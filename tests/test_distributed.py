"""convcore.distributed: data-parallel training over MPI.

Part 1 runs everywhere, without mpi4py: the package imports without it and says how to get
it, sharding, SyncBatchNorm's arithmetic and the gradient buffer on a one-rank stand-in
communicator. Part 2 launches ``mpiexec -n 2 python tests/dist_worker.py ...`` (skipped, with
the reason shown, when mpi4py or mpiexec is missing): 2 ranks x 32 equal 1 process x 64, the
digits CNN learns the same, a failing rank ends the job, the CLI demo runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore import distributed as dist
from convcore.data import DataLoader
from convcore.distributed.parallel import GradientAverager

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dist_worker  # noqa: E402


class OneRank:
    """A stand-in for an mpi4py communicator: rank ``rank`` of ``size``; no messages (the
    code under test never sends any when size is 1; with size > 1 only ``bcast`` of a seed
    would, and the tests pass seeds)."""

    def __init__(self, rank: int = 0, size: int = 1) -> None:
        self.rank, self.size = rank, size

    def Get_rank(self) -> int:
        return self.rank

    def Get_size(self) -> int:
        return self.size

    def Barrier(self) -> None:
        pass


# ---- part 1: no MPI needed ---------------------------------------------------------------------
def test_import_does_not_load_mpi4py():
    code = "import sys, convcore, convcore.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_mpi4py_errors_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r"convcore\[dist\]"):
        dist.rank()
    X, y = dist_worker.make_data(64)
    model = dist_worker.make_model(False)
    with pytest.raises(ImportError, match=r"convcore\[dist\]"):
        convcore.fit(model, nn.CrossEntropyLoss(), dist_worker.make_optimizer(model), X, y,
                     progress=False, distributed=True)
    # SyncBatchNorm without MPI and without a communicator: plain batch norm
    x = np.random.default_rng(0).standard_normal((6, 3, 4, 5))
    sync, plain = dist.SyncBatchNorm(3, dtype=np.float64), nn.BatchNorm2d(3, dtype=np.float64)
    np.testing.assert_array_equal(sync(x), plain(x))


@pytest.mark.parametrize("n, ranks, batch", [(320, 2, 32), (293, 2, 32), (257, 2, 32),
                                             (100, 3, 7), (5, 4, 2), (64, 1, 64)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_sharded_loader_splits_each_global_batch(n, ranks, batch, shuffle):
    X = np.arange(n, dtype=np.float32)[:, None]
    y = np.arange(n)
    shards = [list(dist.ShardedLoader(X, y, batch, shuffle=shuffle, seed=4, comm=OneRank(r, ranks)))
              for r in range(ranks)]
    one_process = list(DataLoader(X, y, batch * ranks, shuffle=shuffle, seed=4))
    full, rest = divmod(n, batch * ranks)
    steps = full + (rest >= ranks)  # a last batch with fewer samples than ranks is dropped
    assert all(len(s) == steps for s in shards)
    for step in range(steps):
        parts = [s[step][1] for s in shards]
        assert all(len(p) >= 1 for p in parts)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        np.testing.assert_array_equal(np.concatenate(parts), one_process[step][1])
        for s in shards:
            np.testing.assert_array_equal(s[step][0][:, 0], s[step][1])
    seen = np.concatenate([b[1] for s in shards for b in s])
    assert len(np.unique(seen)) == len(seen) == (n if rest >= ranks or rest == 0 else n - rest)


def test_sharded_loader_drop_last_and_bad_arguments():
    X = np.zeros((100, 2), np.float32)
    loader = dist.ShardedLoader(X, None, 16, drop_last=True, seed=0, comm=OneRank(1, 2))
    assert len(loader) == 3 and all(len(b) == 16 for b in loader)
    with pytest.raises(ValueError, match="batch_size"):
        dist.ShardedLoader(X, None, 0, comm=OneRank())
    with pytest.raises(ValueError, match=r"\(100, 2\)"):
        dist.ShardedLoader(X, np.zeros(99), 4, comm=OneRank())
    with pytest.raises(TypeError, match="X must be"):
        dist.ShardedLoader([1, 2], None, 4, comm=OneRank())


@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (7, 3)])
@pytest.mark.parametrize("relu", [False, True])
def test_sync_batchnorm_one_rank_equals_batchnorm(shape, relu):
    """The synchronised arithmetic (sums, E[x^2] - mean^2, weighted backward sums) on one
    rank must reproduce BatchNorm's two-pass result: forward, backward, running stats."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3 + 1.5
    grad = rng.standard_normal(shape)
    plain = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, dtype=np.float64)
    sync = dist.SyncBatchNorm(3, dtype=np.float64, comm=OneRank())
    for layer in (plain, sync):
        layer.weight.data[:] = [0.5, -1.0, 2.0]
        layer.bias.data[:] = [0.1, 0.2, -0.3]
    activation = "relu" if relu else None
    y_plain = plain.forward(x, activation=activation)
    y_sync = sync.forward(x, activation=activation)
    np.testing.assert_allclose(y_sync, y_plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sync.backward(grad), plain.backward(grad), rtol=1e-10, atol=1e-12)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(sync, name).grad, getattr(plain, name).grad,
                                   rtol=1e-12, atol=1e-12)
    for name, value in plain.named_buffers():
        np.testing.assert_allclose(getattr(sync, name), value, rtol=1e-12)
    sync.eval()
    plain.eval()
    np.testing.assert_allclose(sync(x), plain(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sync.backward(grad), plain.backward(grad), rtol=1e-12)


def test_sync_batchnorm_checks_input_and_leaves_it_alone():
    sync = dist.SyncBatchNorm(3, comm=OneRank())
    with pytest.raises(ValueError, match=r"\(4,\)|\(3,\)"):
        sync(np.zeros((2, 4, 3, 3), np.float32))
    with pytest.raises(TypeError, match="float64"):
        sync(np.zeros((2, 3, 3, 3)))
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
    copy = x.copy()
    sync(x)
    np.testing.assert_array_equal(x, copy)


def test_convert_and_save_sync_batchnorm(tmp_path):
    model = dist_worker.make_model(True)
    bn = model[1]
    converted = dist.convert_sync_batchnorm(model, comm=OneRank())
    assert converted is model and type(model[1]) is dist.SyncBatchNorm
    assert model[1].weight is bn.weight and model[1].running_mean is bn.running_mean
    path = tmp_path / "m.npz"
    dist.save(dist.DataParallel(model, comm=OneRank()), path, comm=OneRank())
    assert type(model[1]) is dist.SyncBatchNorm  # the swap for saving is undone
    loaded = convcore.load(path)
    assert type(loaded[1]) is nn.BatchNorm2d
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)


def test_gradient_averager_one_rank_keeps_gradients_and_skips_frozen():
    model = dist_worker.make_model(True)
    x, y = dist_worker.make_data(8)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    model[0].requires_grad_(False)
    expected = {name: p.grad.copy() for name, p in model.named_parameters() if p.requires_grad}
    model[5].bias.grad = None  # a parameter without a gradient this step keeps none
    averager = GradientAverager(model, OneRank())
    averager.average(len(x))
    n_trainable = sum(p.size for p in model.parameters() if p.requires_grad)
    # gradients, one presence count per parameter (4 trainable), the sample count
    assert sum(b.buffer.size for b in averager._buckets) == n_trainable + 4 + 1
    assert model[0].weight.grad is None and model[5].bias.grad is None
    for name, p in model.named_parameters():
        if p.grad is not None:
            np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6)
    model[0].requires_grad_(True)
    averager.average(len(x))  # the layout follows the new set of trainable parameters
    assert sum(b.buffer.size for b in averager._buckets) == n_trainable + 40 + 6 + 1


def test_data_parallel_one_rank_is_the_module():
    model = dist_worker.make_model(False)
    dp = dist.DataParallel(model, comm=OneRank())
    x, _ = dist_worker.make_data(4)
    np.testing.assert_array_equal(dp(x), model(x))
    assert list(dp.state_dict()) == ["module." + k for k in model.state_dict()]
    assert [id(p) for p in dp.parameters()] == [id(p) for p in model.parameters()]


# ---- part 2: two ranks under mpiexec ------------------------------------------------------------
def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="mpi4py not installed (pip install 'convcore[dist]')")
    beside_python = Path(sys.executable).with_name("mpiexec")
    found = str(beside_python) if beside_python.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    return found


def _launch(args, timeout=60.0, **env_extra):
    """Run ``mpiexec -n 2 python ARGS`` from the repository root; (result, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.update(env_extra)
    start = time.perf_counter()
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    return result, time.perf_counter() - start


def _worker(scenario, outdir, **kw):
    return _launch([str(ROOT / "tests" / "dist_worker.py"), scenario, str(outdir)], **kw)


@pytest.fixture(scope="module")
def equivalence_run(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("dist")
    result, _ = _worker("equivalence", outdir, CONVCORE_DIST_DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
    return outdir


def _one_process(config):
    batch_norm, n = dist_worker.CONFIGS[config]
    X, y = dist_worker.make_data(n)
    model = dist_worker.make_model(batch_norm is not None)
    history = convcore.fit(model, nn.CrossEntropyLoss(), dist_worker.make_optimizer(model), X, y,
                           batch_size=2 * dist_worker.BATCH_PER_RANK, seed=dist_worker.SEED,
                           progress=False)
    return model.state_dict(), history


@pytest.mark.parametrize("config", ["plain", "syncbn", "syncbn-uneven"])
def test_two_ranks_of_32_equal_one_process_of_64(equivalence_run, config):
    expected, history = _one_process(config)
    got = np.load(equivalence_run / f"{config}.npz")
    initial = dist_worker.make_model(dist_worker.CONFIGS[config][0] is not None).state_dict()
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-5, err_msg=key)
        if key.endswith("weight"):  # the comparison means something: 5 steps moved them
            assert np.abs(value - initial[key]).max() > 1e-2, key
    np.testing.assert_allclose(got["loss"], history.loss, rtol=1e-6)


def test_per_rank_batchnorm_statistics_differ_from_global(equivalence_run):
    """Plain BatchNorm2d normalises each rank's 32 samples alone (as DDP): not the 64."""
    expected, _ = _one_process("localbn")
    got = np.load(equivalence_run / "localbn.npz")
    assert np.abs(got["1.weight"] - expected["1.weight"]).max() > 1e-4


def test_checkpoint_from_rank_0_loads_as_plain_model(equivalence_run):
    loaded = convcore.load(equivalence_run / "checkpoint.npz")
    assert type(loaded[1]) is nn.BatchNorm2d
    got = np.load(equivalence_run / "syncbn.npz")
    for key, value in loaded.state_dict().items():
        np.testing.assert_array_equal(value, got[key])


def test_threads_per_rank_default_to_cores_over_local_ranks(equivalence_run):
    threads = json.loads((equivalence_run / "threads.json").read_text())
    assert threads["local_size"] == 2
    usable = len(os.sched_getaffinity(0))
    assert threads["default"] == max(1, min(usable, (os.cpu_count() or 1) // 2))
    if threads["convcore"] is not None and not os.environ.get("OMP_NUM_THREADS"):
        assert threads["convcore"] == threads["default"]


def test_digits_history_matches_one_process(tmp_path):
    pytest.importorskip("sklearn")
    from convcore.__main__ import build_digits_cnn, load_digits_data

    X_train, X_test, y_train, y_test = load_digits_data(0)
    np.savez(tmp_path / "digits-data.npz", X_train=X_train, X_test=X_test, y_train=y_train,
             y_test=y_test)
    result, _ = _worker("digits", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [json.loads((tmp_path / f"digits-{r}.json").read_text()) for r in range(2)]
    assert ranks[0] == ranks[1]  # global metrics: every rank reports the same History
    model = build_digits_cnn(rng=0)
    one = convcore.fit(model, nn.CrossEntropyLoss(), convcore.optim.Adam(model.parameters(),
                       lr=3e-3), X_train, y_train, epochs=2, batch_size=64,
                       validation_data=(X_test, y_test), seed=0, progress=False)
    # dropout masks and per-rank batch-norm statistics differ: close, not equal
    np.testing.assert_allclose(ranks[0]["accuracy"], one.accuracy, atol=0.05)
    np.testing.assert_allclose(ranks[0]["val_accuracy"], one.val_accuracy, atol=0.05)
    np.testing.assert_allclose(ranks[0]["loss"], one.loss, rtol=0.15)
    assert ranks[0]["val_accuracy"][-1] > 0.9


def test_out_of_sync_replicas_are_detected(tmp_path):
    result, _ = _worker("desync", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for r in range(2):
        assert json.loads((tmp_path / f"desync-{r}.json").read_text()) == {"detected": True}


@pytest.mark.parametrize("scenario, message", [
    ("raise-in-fit", "ValueError: injected failure on rank 1"),
    ("raise-uncaught", "KeyError: 'uncaught failure on rank 1'"),
    ("unequal-data", "ValueError: X must have the same length on every rank"),
])
def test_failing_rank_aborts_the_job(tmp_path, scenario, message):
    result, seconds = _worker(scenario, tmp_path, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output
    assert "finished" not in result.stdout  # rank 0 did not carry on
    assert seconds < 30, f"the job took {seconds:.1f} s to end"


def test_cli_demo_distributed(tmp_path):
    pytest.importorskip("sklearn")
    result, _ = _launch(["-m", "convcore", "demo", "--distributed", "--epochs", "1", "--quiet",
                         "--plot", str(tmp_path / "curves.png")], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("test accuracy:") == 1  # rank 0 prints, rank 1 is quiet
    accuracy = float(result.stdout.split("test accuracy:")[1].split("%")[0])
    assert accuracy > 70  # one epoch; learning itself is checked by the digits test above
    assert (tmp_path / "curves.png").exists()
