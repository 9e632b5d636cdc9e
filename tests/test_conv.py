"""Compiled conv2d / conv2d_backward against convcore.reference and torch, on every ISA.

Errors are measured against a float64 oracle and bounded relative to the sum of the absolute
values of the terms of each output element (the conv of |x| and |w|): float32 1e-5, float64
1e-12. Shapes are small so that hundreds of configurations run in seconds per ISA.
"""

import numpy as np
import pytest

import convcore
from convcore import _kernels
from convcore import functional as F
from convcore import reference as R
from convcore.testing import gradcheck

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
GRADS = ("x", "weight", "bias")


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def make_case(rng, n, c, k, hw, rs, stride=1, padding=0, dilation=1, groups=1,
              dtype=np.float32, bias=True):
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((k, c // groups, *rs)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype) if bias else None
    hyper = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, w, b, hyper


def f64(a):
    return None if a is None else a.astype(np.float64)


def assert_bounded(name, got, ref, bound, rtol, case=""):
    err = np.abs(got.astype(np.float64) - ref)
    limit = rtol * bound + 1e-30
    worst = np.unravel_index(np.argmax(err - limit), err.shape) if err.size else ()
    assert np.all(err <= limit), (f"{name}{case}: error {err[worst]:.3g} > {limit[worst]:.3g} "
                                  f"at {worst} (got {got[worst]}, want {ref[worst]})")


def check_against_reference(x, w, b, hyper, activation=None, needs=GRADS, rng=None, case=""):
    """Compiled forward and backward vs the float64 reference, error bounded per element."""
    rtol = RTOL[x.dtype.type]
    y = F.conv2d(x, w, b, activation=activation, **hyper)
    assert y.dtype == x.dtype
    y_ref = R.conv2d(f64(x), f64(w), f64(b), activation=activation, **hyper)
    y_bound = R.conv2d(np.abs(f64(x)), np.abs(f64(w)), None if b is None else np.abs(f64(b)),
                       **hyper)
    assert_bounded("y", y, y_ref, y_bound, rtol, case)

    rng = rng if rng is not None else np.random.default_rng(0)
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    grads = F.conv2d_backward(gy, x, w, needs=needs, **hyper)
    refs = R.conv2d_backward(f64(gy), f64(x), f64(w), **hyper)
    bounds = R.conv2d_backward(np.abs(f64(gy)), np.abs(f64(x)), np.abs(f64(w)), **hyper)
    for name, got, ref, bound in zip(GRADS, grads, refs, bounds):
        if name not in needs:
            assert got is None
            continue
        assert got.dtype == x.dtype and got.shape == ref.shape
        assert_bounded("grad_" + name, got, ref, bound, rtol, case)
    return y, grads


def random_config(rng):
    """A random valid convolution: odd and non-square sizes, strides, dilations, groups."""
    while True:
        groups = int(rng.choice([1, 1, 1, 2, 3]))
        cg, kg = int(rng.integers(1, 6)), int(rng.integers(1, 9))
        r, s = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        h, w = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
        if out_size(h, r, stride[0], padding[0], dilation[0]) >= 1 and \
                out_size(w, s, stride[1], padding[1], dilation[1]) >= 1:
            n = int(rng.integers(1, 4))
            return (n, groups * cg, groups * kg, (h, w), (r, s), stride, padding, dilation,
                    groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_sweep_vs_reference(isa, dtype):
    rng = np.random.default_rng(2024)
    for i in range(150):
        n, c, k, hw, rs, stride, padding, dilation, groups = random_config(rng)
        x, w, b, hyper = make_case(rng, n, c, k, hw, rs, stride, padding, dilation, groups,
                                   dtype, bias=bool(i % 3))
        activation = "relu" if i % 2 else None
        check_against_reference(x, w, b, hyper, activation, rng=rng,
                                case=f" [{isa} case {i}: x{x.shape} w{w.shape} {hyper}]")


def test_random_sweep_vs_torch(isa):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    # torch's thread pool costs ~0.1 s per tiny call on a busy machine; one thread is enough
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch_sweep(torch, rng, isa)
    finally:
        torch.set_num_threads(threads)


def torch_sweep(torch, rng, isa):
    for i in range(60):
        n, c, k, hw, rs, stride, padding, dilation, groups = random_config(rng)
        x, w, b, hyper = make_case(rng, n, c, k, hw, rs, stride, padding, dilation, groups)
        tx, tw, tb = (torch.from_numpy(a).double().requires_grad_() for a in (x, w, b))
        ty = torch.nn.functional.conv2d(tx, tw, tb, **hyper)
        gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
        ty.backward(torch.from_numpy(gy).double())
        y = F.conv2d(x, w, b, **hyper)
        grads = F.conv2d_backward(gy, x, w, **hyper)
        case = f" [{isa} case {i}: x{x.shape} w{w.shape} {hyper}]"
        for name, got, want in zip(("y", "grad_x", "grad_w", "grad_b"), (y, *grads),
                                   (ty.detach(), tx.grad, tw.grad, tb.grad)):
            want = want.numpy()
            scale = np.abs(want).max() + 1
            assert np.abs(got - want).max() <= 1e-5 * scale * np.sqrt(w[0].size), name + case


def test_relu_epilogue_vs_torch(isa):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, w, b, hyper = make_case(rng, 2, 5, 13, (9, 11), (3, 3), padding=1)
    y = F.conv2d(x, w, b, activation="relu", **hyper)
    want = torch.relu(torch.nn.functional.conv2d(*(torch.from_numpy(a) for a in (x, w, b)),
                                                 **hyper)).numpy()
    assert (y == 0).any() and (y > 0).any()
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def tile_edge_cases(isa):
    """Sizes one below, at and one above every block edge of this ISA's kernel."""
    sizes = _kernels.conv2d_block_sizes()
    mr, nr, kc, mc = sizes["mr"], sizes["nr"], sizes["kc"], sizes["mc"]
    cases = []
    for k in (1, mr - 1, mr, mr + 1, 2 * mr + 1, mc - 1, mc + 1):  # out-channels: GEMM rows
        cases.append(dict(n=1, c=3, k=k, hw=(5, 7), rs=(3, 3), padding=1))
    for pix in (nr - 1, nr, nr + 1, 2 * nr + 3):  # pixels: GEMM columns (one output row)
        cases.append(dict(n=2, c=2, k=mr + 1, hw=(1, pix), rs=(1, 1)))
        cases.append(dict(n=1, c=2, k=mr, hw=(3, pix + 2), rs=(3, 3)))
    for depth in (kc - 1, kc, kc + 1, 2 * kc + 5):  # Cin*R*S: GEMM depth
        cases.append(dict(n=1, c=depth, k=mr + 2, hw=(3, 5), rs=(1, 1)))
        cases.append(dict(n=1, c=-(-depth // 9), k=mr - 1, hw=(4, 5), rs=(3, 3), padding=1))
    for nc_pixels in (sizes["nc"] - 1, sizes["nc"] + 1):  # pixel blocks of the packed B
        cases.append(dict(n=1, c=3, k=mr + 1, hw=(1, nc_pixels), rs=(1, 3), padding=(0, 1)))
    # weight-gradient depth N*P*Q crossing KC inside and between images
    cases.append(dict(n=3, c=2, k=mr, hw=(kc // 16 + 1, 16), rs=(1, 1)))
    cases.append(dict(n=5, c=4, k=3, hw=(7, 9), rs=(2, 2)))
    return cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tile_edges(isa, dtype):
    rng = np.random.default_rng(11)
    for i, case in enumerate(tile_edge_cases(isa)):
        case = dict(case)
        n, c, k, hw, rs = (case.pop(key) for key in ("n", "c", "k", "hw", "rs"))
        x, w, b, hyper = make_case(rng, n, c, k, hw, rs, dtype=dtype, **case)
        check_against_reference(x, w, b, hyper, "relu" if i % 2 else None, rng=rng,
                                case=f" [{isa}: x{x.shape} w{w.shape} {hyper}]")


@pytest.mark.parametrize("config", [
    dict(n=1, c=8, k=8, hw=(9, 9), rs=(3, 3), padding=1, groups=8),          # depthwise
    dict(n=2, c=6, k=12, hw=(7, 6), rs=(3, 3), padding=1, groups=3),         # grouped
    dict(n=2, c=4, k=4, hw=(10, 11), rs=(3, 3), padding=2, dilation=2, groups=2),
    dict(n=1, c=3, k=5, hw=(11, 13), rs=(2, 2), stride=3),                   # stride > kernel
    dict(n=2, c=2, k=3, hw=(6, 5), rs=(3, 3), padding=3),                    # padding > k/2
    dict(n=1, c=3, k=4, hw=(8, 12), rs=(1, 5), stride=(2, 1), padding=(0, 2)),  # non-square
    dict(n=1, c=1, k=32, hw=(28, 28), rs=(5, 5), padding=2),                 # lenet-c1
    dict(n=3, c=16, k=8, hw=(6, 7), rs=(1, 1)),                              # 1x1 stride 1
    dict(n=2, c=8, k=8, hw=(7, 7), rs=(1, 1), stride=2),                     # 1x1 stride 2
    # stride 1, output as wide as the input: the shifted-copy packer; > NC pixels, so blocks
    # start mid-row
    dict(n=1, c=3, k=7, hw=(20, 21), rs=(3, 3), padding=1),
    dict(n=2, c=2, k=5, hw=(17, 19), rs=(5, 5), padding=(1, 4), dilation=(1, 2)),
    # data gradient as a flipped forward conv (stride 1, C/G >= 16), and its col2im fallback
    dict(n=2, c=32, k=8, hw=(7, 9), rs=(3, 2), padding=(1, 0), dilation=(2, 1), groups=2),
    dict(n=1, c=16, k=4, hw=(6, 6), rs=(3, 3), padding=3),
    dict(n=1, c=2, k=3, hw=(1, 1), rs=(1, 1)),                               # a single pixel
    dict(n=1, c=2, k=3, hw=(1, 1), rs=(3, 3), padding=1),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_named_cases(isa, dtype, config):
    config = dict(config)
    n, c, k, hw, rs = (config.pop(key) for key in ("n", "c", "k", "hw", "rs"))
    x, w, b, hyper = make_case(np.random.default_rng(5), n, c, k, hw, rs, dtype=dtype, **config)
    check_against_reference(x, w, b, hyper, case=f" [{isa}]")
    check_against_reference(x, w, b, hyper, "relu", case=f" [{isa} relu]")


@pytest.mark.parametrize("needs", [(), ("x",), ("weight",), ("bias",), ("x", "bias"),
                                   ("weight", "bias"), ("x", "weight"), ["bias", "x"]])
def test_needs_subsets(isa, needs):
    x, w, b, hyper = make_case(np.random.default_rng(8), 2, 4, 6, (7, 8), (3, 3), stride=2,
                               padding=1)
    check_against_reference(x, w, b, hyper, needs=tuple(needs))


def test_kernel_matches_isa(isa):
    assert _kernels.conv2d_kernel_name().endswith(isa)
    assert _kernels.conv2d_kernel_name(True).endswith(isa)
    sizes = _kernels.conv2d_block_sizes()
    assert f"{sizes['mr']}x{sizes['nr']}" in _kernels.conv2d_kernel_name()


THREAD_CASES = [  # each above the ~1 MFLOP per thread below which kernels run on one thread
    dict(n=32, c=16, k=16, hw=(8, 8), rs=(3, 3), padding=1),       # small images, big batch
    dict(n=1, c=64, k=64, hw=(8, 8), rs=(3, 3), padding=1),        # N = 1: split pixels/rows
    dict(n=1, c=40, k=30, hw=(30, 31), rs=(3, 3), padding=1),      # N = 1, several pixel blocks
    dict(n=4, c=64, k=64, hw=(9, 9), rs=(1, 1)),
    dict(n=4, c=1, k=32, hw=(28, 28), rs=(5, 5), padding=2),
    dict(n=2, c=600, k=40, hw=(6, 7), rs=(1, 1)),                  # depth > 2 KC
    dict(n=8, c=64, k=64, hw=(24, 24), rs=(3, 3), padding=1, groups=64),
]


@pytest.mark.parametrize("config", THREAD_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_bit_identical(isa, dtype, config):
    config = dict(config)
    n, c, k, hw, rs = (config.pop(key) for key in ("n", "c", "k", "hw", "rs"))
    rng = np.random.default_rng(9)
    x, w, b, hyper = make_case(rng, n, c, k, hw, rs, dtype=dtype, **config)
    gy = rng.standard_normal(F.conv2d(x, w, b, **hyper).shape).astype(dtype)
    results = []
    try:
        for threads in (1, 2, 3):
            convcore.set_num_threads(threads)
            results.append((F.conv2d(x, w, b, activation="relu", **hyper),
                            *F.conv2d_backward(gy, x, w, **hyper)))
    finally:
        convcore.set_num_threads(None)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


def test_gradcheck_float64(isa):
    rng = np.random.default_rng(4)
    for config in (dict(stride=1, padding=1, dilation=1, groups=1),
                   dict(stride=(2, 1), padding=(2, 0), dilation=(1, 2), groups=2)):
        x = rng.standard_normal((2, 4, 6, 7))
        w = rng.standard_normal((6, 4 // config["groups"], 3, 2))
        b = rng.standard_normal(6)
        assert gradcheck(lambda x_, w_, b_, cfg=config: F.conv2d(x_, w_, b_, **cfg),
                         lambda gy, x_, w_, b_, cfg=config: F.conv2d_backward(gy, x_, w_, **cfg),
                         [x, w, b])


def test_odd_layouts_accepted_and_inputs_untouched(isa):
    rng = np.random.default_rng(6)
    for dtype in (np.float32, np.float64):
        big = rng.standard_normal((2, 6, 18, 22)).astype(dtype)
        x = big[:, ::2, ::2, 1::2]                               # non-contiguous view
        w = np.asfortranarray(rng.standard_normal((5, 3, 3, 3)).astype(dtype))
        b = rng.standard_normal(10).astype(dtype)[::2]           # strided bias
        gy = rng.standard_normal((2, 5, 9, 11)).astype(dtype)
        for a in (big, w, gy):
            a.setflags(write=False)
        copies = [a.copy() for a in (big, w, b, gy)]
        hyper = dict(padding=1)
        y = F.conv2d(x, w, b, **hyper)
        grads = F.conv2d_backward(gy[:, :, :, :], x, w, **hyper)
        y_c = F.conv2d(x.copy(), w.copy(order="C"), b.copy(), **hyper)
        grads_c = F.conv2d_backward(gy.copy(), x.copy(), w.copy(order="C"), **hyper)
        np.testing.assert_array_equal(y, y_c)
        for a, c in zip(grads, grads_c):
            np.testing.assert_array_equal(a, c)
        for a, c in zip((big, w, b, gy), copies):
            np.testing.assert_array_equal(a, c)
        check_against_reference(x, w, b, hyper)


def test_unaligned_input(isa):
    rng = np.random.default_rng(12)
    raw = np.zeros(2 * 3 * 5 * 5 * 4 + 1, np.uint8)
    x = raw[1:].view(np.float32).reshape(2, 3, 5, 5)
    x[...] = rng.standard_normal(x.shape)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(F.conv2d(x, w), F.conv2d(x.copy(), w))


def test_relu_keeps_nan(isa):
    x = np.full((1, 1, 4, 20), np.nan, np.float32)
    y = F.conv2d(x, np.ones((3, 1, 1, 1), np.float32), activation="relu")
    assert np.isnan(y).all()


def test_empty_batch():
    x = np.zeros((0, 3, 5, 5), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    assert F.conv2d(x, w, np.ones(4, np.float32)).shape == (0, 4, 3, 3)
    gx, gw, gb = F.conv2d_backward(np.zeros((0, 4, 3, 3), np.float32), x, w)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw, np.zeros_like(w))
    np.testing.assert_array_equal(gb, np.zeros(4, np.float32))


@pytest.mark.parametrize("call", [
    lambda: ((np.zeros((1, 3, 5, 5), np.float32), np.zeros((4, 2, 3, 3), np.float32)), {}),
    lambda: ((np.zeros((1, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float64)), {}),
    lambda: ((np.zeros((1, 3, 5, 5), np.int32), np.zeros((4, 3, 3, 3), np.int32)), {}),
    lambda: ((np.zeros((1, 3, 2, 2), np.float32), np.zeros((4, 3, 3, 3), np.float32)), {}),
    lambda: ((np.zeros((1, 4, 5, 5), np.float32), np.zeros((4, 2, 3, 3), np.float32)),
             {"groups": 3}),
    lambda: ((np.zeros((1, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)),
             {"padding": -1}),
    lambda: ((np.zeros((1, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)),
             {"activation": "gelu"}),
    lambda: (([[1.0]], np.zeros((4, 3, 3, 3), np.float32)), {}),
])
def test_bad_arguments_same_errors_as_reference(call):
    args, kwargs = call()
    with pytest.raises((TypeError, ValueError)) as ours:
        F.conv2d(*args, **kwargs)
    with pytest.raises(type(ours.value)) as ref:
        R.conv2d(*args, **kwargs)
    assert str(ours.value) == str(ref.value)


def test_backward_bad_arguments_same_errors_as_reference():
    x = np.zeros((1, 3, 5, 5), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    for gy, needs in ((np.zeros((1, 4, 2, 3), np.float32), GRADS),
                      (np.zeros((1, 4, 3, 3), np.float32), ("x", "input"))):
        with pytest.raises(ValueError) as ours:
            F.conv2d_backward(gy, x, w, needs=needs)
        with pytest.raises(ValueError) as ref:
            R.conv2d_backward(gy, x, w, needs=needs)
        assert str(ours.value) == str(ref.value)
