"""The direct convolution kernel for few input channels (csrc/conv/small_cin_impl.h): when it
runs, and that it agrees with the float64 reference and torch on every ISA, around its blocks
(KB = 6 output channels, strips of 2 vectors: 8, 16 or 32 columns)."""

import numpy as np
import pytest

import convcore
from convcore import _kernels
from convcore import functional as F
from convcore import reference as R


def algorithm(x_shape, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
              dtype=np.float32):
    p = (x_shape[2] + 2 * padding[0] - dilation[0] * (w_shape[2] - 1) - 1) // stride[0] + 1
    q = (x_shape[3] + 2 * padding[1] - dilation[1] * (w_shape[3] - 1) - 1) // stride[1] + 1
    return _kernels.conv2d_algorithm(x_shape, w_shape, (x_shape[0], w_shape[0], p, q), stride,
                                     padding, dilation, groups, dtype == np.float64)


def test_when_it_runs():
    assert convcore.get_winograd() == "auto"
    lenet = ((64, 1, 28, 28), (32, 1, 5, 5))
    assert algorithm(*lenet, padding=(2, 2)) == "small_c"
    assert algorithm((8, 3, 32, 32), (16, 3, 3, 3), padding=(1, 1)) == "small_c"
    assert algorithm((8, 4, 32, 32), (16, 4, 7, 1)) == "small_c"
    assert algorithm((8, 5, 32, 32), (16, 5, 3, 3)) == "direct"
    assert algorithm(*lenet, stride=(2, 2)) == "direct"
    assert algorithm(*lenet, dilation=(1, 2)) == "direct"
    assert algorithm((8, 4, 32, 32), (16, 2, 3, 3), groups=2) == "direct"
    assert algorithm(*lenet, dtype=np.float64) == "direct"


def check(x, w, b, padding, activation, case):
    y = F.conv2d(x, w, b, padding=padding, activation=activation)
    f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    want = R.conv2d(f64(x), f64(w), f64(b), padding=padding, activation=activation)
    bound = R.conv2d(np.abs(f64(x)), np.abs(f64(w)), None if b is None else np.abs(f64(b)),
                     padding=padding)
    assert y.dtype == np.float32 and y.shape == want.shape, case
    err = np.abs(y - want)
    assert np.all(err <= 1e-5 * bound + 1e-30), f"{case}: worst {(err - 1e-5 * bound).max()}"


def test_random_sweep_vs_reference(isa):
    rng = np.random.default_rng(41)
    for i in range(150):
        n, c, k = int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 20))
        r, s = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        pad = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
        h = int(rng.integers(max(1, r - 2 * pad[0]), 20))
        w = int(rng.integers(max(1, s - 2 * pad[1]), 70))
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((k, c, r, s)).astype(np.float32)
        b = rng.standard_normal(k).astype(np.float32) if i % 3 else None
        assert algorithm(x.shape, wt.shape, padding=pad) == "small_c"
        check(x, wt, b, pad, "relu" if i % 2 else None,
              f"[{isa} case {i}: x{x.shape} w{wt.shape} pad {pad}]")


@pytest.mark.parametrize("k", [1, 5, 6, 7, 12, 13])
@pytest.mark.parametrize("q", [1, 7, 8, 9, 15, 16, 17, 31, 32, 33])
def test_block_edges(isa, k, q):
    rng = np.random.default_rng(k * 100 + q)
    x = rng.standard_normal((2, 3, 5, q + 2)).astype(np.float32)
    w = rng.standard_normal((k, 3, 3, 3)).astype(np.float32)
    check(x, w, rng.standard_normal(k).astype(np.float32), (1, 0), "relu", f"[{isa} k={k} q={q}]")


def test_threads_bit_identical_and_nan(isa):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 40, 41)).astype(np.float32)
    w = rng.standard_normal((20, 3, 5, 5)).astype(np.float32)
    x[1, 2, 10, 20] = np.nan
    results = []
    try:
        for threads in (1, 2, 3):
            convcore.set_num_threads(threads)
            results.append(F.conv2d(x, w, padding=2, activation="relu"))
    finally:
        convcore.set_num_threads(None)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    nan = np.isnan(results[0])
    assert nan[1, :, 8:13, 18:23].all() and nan.sum() == 20 * 25  # relu keeps NaN


def test_vs_torch(isa):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    for n, c, k, hw, rs, pad in ((4, 1, 32, (28, 28), (5, 5), 2), (2, 3, 16, (32, 30), (3, 3), 1),
                                 (1, 3, 8, (23, 19), (7, 7), 3), (3, 2, 7, (9, 40), (1, 5), 0)):
        x = rng.standard_normal((n, c, *hw)).astype(np.float32)
        w = rng.standard_normal((k, c, *rs)).astype(np.float32)
        b = rng.standard_normal(k).astype(np.float32)
        want = torch.nn.functional.conv2d(*(torch.from_numpy(a).double() for a in (x, w, b)),
                                          padding=pad).numpy()
        np.testing.assert_allclose(F.conv2d(x, w, b, padding=pad), want, rtol=1e-4,
                                   atol=1e-5 * np.abs(want).max())
