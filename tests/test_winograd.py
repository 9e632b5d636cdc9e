"""Winograd F(2x2, 3x3) convolution (csrc/conv/winograd*): forward and weight gradient, when
each runs, and that they agree with the float64 reference, with the direct engine and with torch,
on every ISA.

Errors are bounded per element relative to the conv of |x| and |w| (as tests/test_conv.py), and
Winograd's error is compared with the direct engine's on the same data: the issue asks for at
most 3x; measured (RMS) 0.8-1.8x for the forward (C = 16..512), 1.8-1.9x for the weight gradient.
"""

import subprocess
import sys

import numpy as np
import pytest

import convcore
from convcore import _kernels
from convcore import functional as F
from convcore import reference as R


@pytest.fixture
def winograd_mode():
    """Set the mode for one test, and put the previous one back."""
    previous = convcore.get_winograd()
    yield convcore.set_winograd
    convcore.set_winograd(previous)


def algorithm(x_shape, w_shape, stride=1, padding=1, dilation=1, groups=1, dtype=np.float32,
              part="forward"):
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    p = (x_shape[2] + 2 * ph - dh * (w_shape[2] - 1) - 1) // sh + 1
    q = (x_shape[3] + 2 * pw - dw * (w_shape[3] - 1) - 1) // sw + 1
    return _kernels.conv2d_algorithm(x_shape, w_shape, (x_shape[0], w_shape[0], p, q),
                                     (sh, sw), (ph, pw), (dh, dw), groups,
                                     dtype == np.float64, part)


def test_algorithm_choice(winograd_mode):
    vgg = ((8, 128, 28, 28), (128, 128, 3, 3))
    assert convcore.get_winograd() == "auto"
    assert algorithm(*vgg) == "winograd"
    assert algorithm((4, 16, 9, 7), (8, 16, 3, 3), padding=0) == "winograd"  # the thresholds
    assert algorithm((4, 15, 9, 7), (8, 15, 3, 3)) == "direct"
    assert algorithm((4, 16, 9, 7), (7, 16, 3, 3)) == "direct"
    assert algorithm(*vgg, dtype=np.float64) == "direct"
    assert algorithm(*vgg, stride=2) == "direct"
    assert algorithm(*vgg, dilation=2) == "direct"
    assert algorithm((8, 128, 28, 28), (128, 64, 3, 3), groups=2) == "direct"
    assert algorithm((8, 128, 28, 28), (128, 128, 3, 5)) == "direct"
    grad = dict(part="weight_grad")
    assert algorithm(*vgg, **grad) == "winograd"
    assert algorithm((32, 32, 16, 16), (32, 32, 3, 3), **grad) == "winograd"
    assert algorithm((32, 64, 8, 8), (64, 64, 3, 3), **grad) == "direct"      # short rows
    assert algorithm((32, 16, 32, 32), (16, 16, 3, 3), **grad) == "direct"    # few channels
    assert algorithm(*vgg, stride=2, **grad) == "direct"
    winograd_mode("never")
    assert algorithm(*vgg) == algorithm(*vgg, **grad) == "direct"
    winograd_mode("always")
    assert algorithm((1, 1, 3, 3), (1, 1, 3, 3), padding=0, **grad) == "winograd"
    assert algorithm((1, 1, 3, 3), (1, 1, 3, 3), padding=0) == "winograd"
    assert algorithm(*vgg, dtype=np.float64) == "direct"
    with pytest.raises(ValueError, match="mode"):
        convcore.set_winograd("fast")
    assert convcore.get_winograd() == "always"
    assert convcore.build_info()["winograd"] == "always"


def test_mode_from_environment():
    code = "import convcore; print(convcore.get_winograd())"
    for value, want in (("never", "never"), ("ALWAYS", "always"), ("bogus", "auto")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**__import__("os").environ, "CONVCORE_WINOGRAD": value},
                             check=True)
        assert out.stdout.strip() == want
        assert ("CONVCORE_WINOGRAD ignored" in out.stderr) == (value == "bogus")


def check_forward(x, w, b, padding, activation=None, case=""):
    """Compiled forward (float32) vs the float64 reference, error bounded per element."""
    y = F.conv2d(x, w, b, padding=padding, activation=activation)
    f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    want = R.conv2d(f64(x), f64(w), f64(b), padding=padding, activation=activation)
    bound = R.conv2d(np.abs(f64(x)), np.abs(f64(w)), None if b is None else np.abs(f64(b)),
                     padding=padding)
    err = np.abs(y - want)
    assert y.dtype == np.float32 and y.shape == want.shape, case
    assert np.all(err <= 1e-5 * bound + 1e-30), f"{case}: worst {(err - 1e-5 * bound).max()}"
    return y


def test_random_sweep_vs_reference(isa, winograd_mode):
    """Odd and non-square images, N = 1..3, tile rows longer than one transform run (64 tiles),
    asymmetric padding 0..2, C and K from 1 (mode "always"), bias and ReLU on and off."""
    winograd_mode("always")
    rng = np.random.default_rng(31)
    for i in range(120):
        n, c, k = int(rng.integers(1, 4)), int(rng.integers(1, 41)), int(rng.integers(1, 41))
        pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        h = int(rng.integers(max(1, 3 - 2 * pad[0]), 20))
        w = int(rng.integers(max(1, 3 - 2 * pad[1]), 150 if i % 10 == 0 else 40))
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
        b = rng.standard_normal(k).astype(np.float32) if i % 3 else None
        assert algorithm(x.shape, wt.shape, padding=pad) == "winograd"
        check_forward(x, wt, b, pad, "relu" if i % 2 else None,
                      case=f"[{isa} case {i}: x{x.shape} w{wt.shape} pad {pad}]")


@pytest.mark.parametrize("n,c,k,hw", [
    (1, 16, 71, (13, 13)),     # K just below, at and above the output-channel block (MC)
    (1, 16, 72, (13, 13)),
    (2, 16, 145, (5, 9)),
    (1, 300, 8, (6, 7)),       # C above the GEMM depth block (KC = 256): accumulated blocks
    (3, 64, 20, (16, 16)),     # a whole number of 64-tile blocks
    (1, 16, 8, (2, 2)),        # one tile, three of its four outputs outside the image
])
def test_block_edges(isa, winograd_mode, n, c, k, hw):
    winograd_mode("always")
    rng = np.random.default_rng(n * c + k)
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    check_forward(x, w, rng.standard_normal(k).astype(np.float32), 1, "relu")


def test_error_within_3x_of_direct(winograd_mode):
    """RMS and worst error against float64, Winograd / direct, same inputs (He-scaled weights)."""
    rng = np.random.default_rng(5)
    for c in (16, 128, 256):
        x = rng.standard_normal((2, c, 14, 14)).astype(np.float32)
        w = (rng.standard_normal((64, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        want = R.conv2d(x.astype(np.float64), w.astype(np.float64), padding=1)
        errors = {}
        for mode in ("never", "always"):
            winograd_mode(mode)
            err = np.abs(F.conv2d(x, w, padding=1) - want)
            errors[mode] = np.sqrt(np.mean(err ** 2)), err.max()
        for kind, direct, wino in zip(("rms", "max"), errors["never"], errors["always"]):
            assert wino <= 3 * direct, f"C={c}: {kind} error {wino:.3g} vs direct {direct:.3g}"


@pytest.mark.parametrize("shape", [(3, 32, 24, (15, 17)), (1, 64, 64, (30, 31))])
def test_threads_bit_identical(isa, winograd_mode, shape):
    winograd_mode("always")
    n, c, k, hw = shape
    rng = np.random.default_rng(8)
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    results = []
    try:
        for threads in (1, 2, 3):
            convcore.set_num_threads(threads)
            results.append(F.conv2d(x, w, b, padding=1, activation="relu"))
    finally:
        convcore.set_num_threads(None)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_nan_and_inf_land_where_direct_puts_them(isa, winograd_mode):
    """The transforms would spread a NaN over its whole tile and turn inf into NaN (inf - inf);
    such outputs are recomputed directly."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 32, 9, 10)).astype(np.float32)
    w = rng.standard_normal((16, 32, 3, 3)).astype(np.float32)
    x[0, 3, 4, 5], x[1, 2, 0, 0] = np.nan, np.inf
    w_inf = w.copy()
    w_inf[5, 1, 2, 2] = -np.inf
    for xs, ws in ((x, w), (np.nan_to_num(x, posinf=0, nan=0), w_inf)):
        winograd_mode("never")
        direct = F.conv2d(xs, ws, padding=1)
        winograd_mode("always")
        wino = F.conv2d(xs, ws, padding=1)
        assert not np.isfinite(direct).all()
        np.testing.assert_array_equal(np.isnan(wino), np.isnan(direct))
        np.testing.assert_array_equal(np.isposinf(wino), np.isposinf(direct))
        np.testing.assert_array_equal(np.isneginf(wino), np.isneginf(direct))


def test_data_gradient_through_winograd(winograd_mode):
    """Stride-1 grad_x is a forward conv of grad_y (flipped weights): Winograd runs it too."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 24, 11, 9)).astype(np.float32)
    w = rng.standard_normal((32, 24, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 32, 11, 9)).astype(np.float32)
    assert algorithm(x.shape, w.shape, part="data_grad") == "winograd"
    assert algorithm(x.shape, w.shape, stride=2, part="data_grad") == "direct"  # col2im
    want = R.conv2d_backward(gy.astype(np.float64), x.astype(np.float64),
                             w.astype(np.float64), padding=1)
    bound = R.conv2d_backward(np.abs(gy.astype(np.float64)), np.abs(x.astype(np.float64)),
                              np.abs(w.astype(np.float64)), padding=1)
    for mode in ("auto", "never"):
        winograd_mode(mode)
        got = F.conv2d_backward(gy, x, w, padding=1)
        for g, r, bd in zip(got, want, bound):
            assert np.all(np.abs(g - r) <= 1e-5 * bd + 1e-30)


def test_vs_torch(isa, winograd_mode):
    torch = pytest.importorskip("torch")
    winograd_mode("auto")
    rng = np.random.default_rng(12)
    for n, c, k, hw, pad in ((2, 16, 8, (7, 9), 1), (1, 64, 48, (14, 14), 1),
                             (3, 33, 17, (10, 5), 0), (1, 20, 40, (6, 8), 2)):
        x = rng.standard_normal((n, c, *hw)).astype(np.float32)
        w = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
        b = rng.standard_normal(k).astype(np.float32)
        assert algorithm(x.shape, w.shape, padding=pad) == "winograd"
        want = torch.relu(torch.nn.functional.conv2d(
            *(torch.from_numpy(a).double() for a in (x, w, b)), padding=pad)).numpy()
        got = F.conv2d(x, w, b, padding=pad, activation="relu")
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def check_weight_grad(gy, x, w, padding, case=""):
    got = F.conv2d_backward(gy, x, w, padding=padding, needs=("weight",))[1]
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    want = R.conv2d_backward(f64(gy), f64(x), f64(w), padding=padding, needs=("weight",))[1]
    bound = R.conv2d_backward(np.abs(f64(gy)), np.abs(f64(x)), f64(w), padding=padding,
                              needs=("weight",))[1]
    err = np.abs(got - want)
    assert got.dtype == np.float32 and got.shape == w.shape, case
    assert np.all(err <= 1e-5 * bound + 1e-30), f"{case}: worst {(err - 1e-5 * bound).max()}"


def test_weight_grad_sweep_vs_reference(isa, winograd_mode):
    """As the forward sweep; N*tiles crosses the depth chunk (128..512 tiles) in some cases."""
    winograd_mode("always")
    rng = np.random.default_rng(17)
    for i in range(80):
        n, c, k = int(rng.integers(1, 4)), int(rng.integers(1, 41)), int(rng.integers(1, 41))
        pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        h = int(rng.integers(max(1, 3 - 2 * pad[0]), 30 if i % 8 == 0 else 16))
        w = int(rng.integers(max(1, 3 - 2 * pad[1]), 150 if i % 10 == 0 else 40))
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
        gy = rng.standard_normal((n, k, h + 2 * pad[0] - 2, w + 2 * pad[1] - 2)).astype(np.float32)
        assert algorithm(x.shape, wt.shape, padding=pad, part="weight_grad") == "winograd"
        check_weight_grad(gy, x, wt, pad, case=f"[{isa} case {i}: x{x.shape} w{wt.shape} {pad}]")


def test_weight_grad_error_and_threads(winograd_mode):
    """Error within 3x of the direct weight gradient's (RMS and worst, float64 oracle); 1, 2, 3
    threads bit-identical; several depth chunks (4 images of 30x30: 900 tiles)."""
    rng = np.random.default_rng(23)
    x = rng.standard_normal((4, 40, 30, 30)).astype(np.float32)
    w = rng.standard_normal((36, 40, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((4, 36, 30, 30)).astype(np.float32)
    want = R.conv2d_backward(gy.astype(np.float64), x.astype(np.float64), w.astype(np.float64),
                             padding=1, needs=("weight",))[1]
    errors = {}
    for mode in ("never", "always"):
        winograd_mode(mode)
        err = np.abs(F.conv2d_backward(gy, x, w, padding=1, needs=("weight",))[1] - want)
        errors[mode] = np.sqrt(np.mean(err ** 2)), err.max()
    for kind, direct, wino in zip(("rms", "max"), errors["never"], errors["always"]):
        assert wino <= 3 * direct, f"{kind} error {wino:.3g} vs direct {direct:.3g}"
    results = []
    try:
        for threads in (1, 2, 3):
            convcore.set_num_threads(threads)
            results.append(F.conv2d_backward(gy, x, w, padding=1, needs=("weight",))[1])
    finally:
        convcore.set_num_threads(None)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)


def test_weight_grad_nan_falls_back_to_direct(isa, winograd_mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 32, 16, 18)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((2, 32, 16, 18)).astype(np.float32)
    x[1, 4, 0, 17] = np.nan   # a corner: only some taps of channel 4 see it
    gy[0, 7, 15, 0] = np.inf
    results = {}
    for mode in ("never", "always"):
        winograd_mode(mode)
        results[mode] = F.conv2d_backward(gy, x, w, padding=1, needs=("weight",))[1]
    assert np.isnan(results["never"]).any()
    np.testing.assert_array_equal(np.isnan(results["always"]), np.isnan(results["never"]))
    np.testing.assert_array_equal(np.isinf(results["always"]), np.isinf(results["never"]))


def test_weight_grad_vs_torch(winograd_mode):
    torch = pytest.importorskip("torch")
    winograd_mode("auto")
    rng = np.random.default_rng(29)
    x = rng.standard_normal((2, 32, 17, 20)).astype(np.float32)
    w = rng.standard_normal((40, 32, 3, 3)).astype(np.float32)
    assert algorithm(x.shape, w.shape, part="weight_grad") == "winograd"
    tx, tw = (torch.from_numpy(a).double().requires_grad_() for a in (x, w))
    ty = torch.nn.functional.conv2d(tx, tw, padding=1)
    gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ty.backward(torch.from_numpy(gy).double())
    got = F.conv2d_backward(gy, x, w, padding=1)
    np.testing.assert_allclose(got[0], tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[1], tw.grad.numpy(), rtol=1e-4,
                               atol=1e-5 * np.abs(tw.grad.numpy()).max())
