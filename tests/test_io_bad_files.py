"""convcore.load on damaged, foreign and hostile files: always a clear ValueError (MemoryError
only for a file that declares an array too big to hold), never another exception, never a crash,
and never an unpickling (pickle is disabled while these tests load anything).

tests/test_io.py covers the round trip and one file of each kind; this file sweeps: every
truncation point, bit flips all over the archive, hostile architectures (deep nesting, absurd
sizes, wrong types) and hostile arrays (object, complex, string, structured, 0-d, a header that
declares 2**40 elements).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import convcore
import convcore.nn as nn
from convcore.io import ARCHITECTURE_KEY, FORMAT_KEY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def no_unpickling(monkeypatch):
    """Any attempt to unpickle during a test fails it loudly (not with a ValueError)."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("convcore.load tried to unpickle")

    class RefusingUnpickler:
        def __init__(self, *args, **kwargs):
            refuse()

    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    yield
    assert not calls, "convcore.load called pickle"


def _model():
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, rng=rng), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(12, 4, rng=rng), fuse=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("model") / "model.npz"
    convcore.save(_model(), path)
    return path.read_bytes()


def _load_bytes(tmp_path, data: bytes, name="bad.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return convcore.load(path)


def _arrays(saved: bytes) -> dict:
    with np.load(io.BytesIO(saved)) as archive:
        return {k: archive[k] for k in archive.files}


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _with_architecture(saved: bytes, description) -> bytes:
    arrays = _arrays(saved)
    text = description if isinstance(description, bytes) else json.dumps(description).encode()
    arrays[ARCHITECTURE_KEY] = np.frombuffer(text, np.uint8)
    return _npz(arrays)


# --- damaged files -----------------------------------------------------------------------------

def test_every_truncation_is_a_value_error(tmp_path, saved):
    cuts = sorted(set(np.linspace(0, len(saved) - 1, 60).astype(int)) | {1, 4, 22, 30})
    for cut in cuts:
        with pytest.raises(ValueError, match="not a readable convcore model file"):
            _load_bytes(tmp_path, saved[:cut])


def test_bit_flips_load_or_raise_value_error(tmp_path, saved):
    """Flip one bit at 300 places: CRCs, zip headers, npy headers, JSON, data. Each load
    either gives a model (a flip in data the format can't check, e.g. inside a weight value)
    or a ValueError."""
    rng = np.random.default_rng(0)
    loaded = 0
    for position in rng.choice(len(saved), 300, replace=False):
        data = bytearray(saved)
        data[position] ^= 1 << int(rng.integers(8))
        try:
            model = _load_bytes(tmp_path, bytes(data))
        except ValueError:
            continue
        loaded += 1
        assert [p.shape for p in model.parameters()] == [p.shape for p in _model().parameters()]
    assert loaded < 300


def test_garbage_and_empty_files(tmp_path, saved):
    # (Bytes *before* a zip are legal -- self-extracting archives -- so no prefix case.)
    for data in (b"", b"\0" * 4096, b"PK\x03\x04" + b"\xff" * 100, b"\x93NUMPY" + b"\0" * 50,
                 saved[: len(saved) // 2] + b"\0" * (len(saved) // 2)):
        with pytest.raises(ValueError):
            _load_bytes(tmp_path, data)
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(ValueError):
        convcore.load(tmp_path / "dir.npz")


# --- hostile arrays ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, match", [
    (np.array([object()], dtype=object), "convcore model file"),
    (np.zeros((4, 12), np.complex128) + 1j, "complex"),
    (np.array(["0.1"] * 48).reshape(4, 12), "weight"),
    (np.zeros((4, 12), [("a", "f4"), ("b", "f4")]), "weight"),
    (np.float32(1.0), r"shape \(\)"),
    (np.zeros((12, 4), np.float32), r"0?5\.weight.*\(12, 4\).*\(4, 12\)"),
    (np.zeros((4, 12, 1), np.float32), r"\(4, 12, 1\)"),
    (np.zeros(0, np.float32), r"shape \(0,\)"),
])
def test_bad_weight_array_is_a_value_error(tmp_path, saved, value, match):
    arrays = _arrays(saved)
    arrays["5.weight"] = value
    data = _npz(arrays) if value.dtype != object else _pickled_npz(arrays)
    with pytest.raises(ValueError, match=match):
        _load_bytes(tmp_path, data)


def _pickled_npz(arrays: dict) -> bytes:
    """np.savez with an object array writes a pickle inside the .npy: build it with the real
    pickle (the autouse fixture only blocks *unpickling*)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_missing_and_unexpected_keys(tmp_path, saved):
    arrays = _arrays(saved)
    del arrays["1.running_var"]
    with pytest.raises(ValueError, match=r"missing keys \['1.running_var'\]"):
        _load_bytes(tmp_path, _npz(arrays))
    arrays = _arrays(saved)
    arrays["9.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"unexpected keys \['9.weight'\]"):
        _load_bytes(tmp_path, _npz(arrays))


def test_npy_header_declaring_2_40_elements_fails_cleanly(tmp_path, saved):
    """A member whose header claims 8 TiB (with 48 bytes of data): ValueError or MemoryError,
    in a child under a 2 GiB address-space cap, and nothing big touched."""
    member = io.BytesIO()
    np.save(member, np.zeros((4, 12), np.float32))
    raw = member.getvalue().replace(b"(4, 12)", b"(1099511627776, 1)".ljust(7))
    assert b"1099511627776" in raw
    original = io.BytesIO(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(original) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, raw if item.filename == "5.weight.npy" else zin.read(item))
    path = tmp_path / "bomb.npz"
    path.write_bytes(out.getvalue())
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        f"sys.path.insert(0, {ROOT!r})\n"
        "import convcore\n"
        "try:\n"
        f"    convcore.load({str(path)!r}); print('loaded')\n"
        "except (ValueError, MemoryError) as e:\n"
        "    print('clean', type(e).__name__, str(e)[:200])\n"
        "print('maxrss_mib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n")
    env = dict(os.environ)
    if "asan" in env.get("LD_PRELOAD", ""):
        pytest.skip("the address-space cap is incompatible with ASan's shadow memory")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("clean"), proc.stdout
    assert int(lines[-1].split()[1]) < 1024, proc.stdout


# --- hostile architectures -----------------------------------------------------------------------

def _nested(depth: int) -> bytes:
    """JSON of ReLU inside ``depth`` Sequentials (written directly: json.dumps would recurse)."""
    return (b'{"type": "Sequential", "layers": [' * depth + b'{"type": "ReLU", "config": {}}'
            + b"]}" * depth)


@pytest.mark.parametrize("description", [
    pytest.param(_nested(5000), id="Sequential nested 5000 deep"),
    {"type": "Sequential", "layers": "ReLU"},
    {"type": "Sequential", "layers": [{"type": "__import__", "config": {"name": "os"}}]},
    {"type": "Conv2d", "config": {"in_channels": 1, "out_channels": -3, "kernel_size": 3}},
    {"type": "Conv2d", "config": {"in_channels": 1, "out_channels": 3, "kernel_size": "3"}},
    {"type": "Conv2d", "config": {"in_channels": 1, "out_channels": 3, "kernel_size": 3,
                                  "stride": [1, 2, 3]}},
    {"type": "Conv2d", "config": {"in_channels": 1, "out_channels": 3, "kernel_size": 3,
                                  "dtype": "object"}},
    {"type": "Linear", "config": {"in_features": 12, "out_features": 4, "dtype": "float16"}},
    {"type": "Linear", "config": {"in_features": True, "out_features": 4}},
    {"type": "Dropout", "config": {"p": 1.5}},
    {"type": "MaxPool2d", "config": {"kernel_size": 0}},
    {"type": "BatchNorm2d", "config": {"num_features": 3, "momentum": "fast"}},
    {"type": "Residual", "block": None},
    [1, 2, 3],
    "Sequential",
    None,
], ids=lambda d: json.dumps(d)[:60])
def test_hostile_architecture_is_a_value_error(tmp_path, saved, description):
    with pytest.raises(ValueError):
        _load_bytes(tmp_path, _with_architecture(saved, description))


def test_absurd_layer_size_fails_without_allocating(tmp_path, saved):
    """An architecture asking for a 10**12-parameter layer: a clean error, quickly."""
    description = {"type": "Sequential", "layers": [
        {"type": "Linear", "config": {"in_features": 10**6, "out_features": 10**6}}]}
    with pytest.raises((ValueError, MemoryError)):
        _load_bytes(tmp_path, _with_architecture(saved, description))


@pytest.mark.parametrize("key, value", [
    (FORMAT_KEY, np.array([2])), (FORMAT_KEY, np.array(1)),
    (FORMAT_KEY, np.array([1.5])),
    (ARCHITECTURE_KEY, np.zeros((2, 3))), (ARCHITECTURE_KEY, np.frombuffer(b"\xff\xfe", np.uint8)),
])
def test_format_and_architecture_entries(tmp_path, saved, key, value):
    arrays = _arrays(saved)
    arrays[key] = value
    with pytest.raises(ValueError):
        _load_bytes(tmp_path, _npz(arrays))
