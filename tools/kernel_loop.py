"""Call every op of convcore.functional (forward and backward) and the raw kernels in a loop.

The driver of tools/valgrind.sh (leaks: ``--iters 1000`` under valgrind) and of the RSS check
(``--rss 10000``: resident memory after a warm-up and at the end must not grow). Small shapes,
every ISA this CPU runs, float32 and float64, 1 and 2 threads.

    python tools/kernel_loop.py --iters 1000          # each call 1000 times per ISA/dtype
    python tools/kernel_loop.py --rss 10000           # 10,000 rounds of every call, RSS check
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import convcore  # noqa: E402
from convcore import _kernels  # noqa: E402
from convcore import functional as F  # noqa: E402


def calls(dtype) -> list:
    """(name, zero-argument call) for every functional op and backward, small odd shapes."""
    rng = np.random.default_rng(0)

    def r(*shape, positive=False):
        a = rng.standard_normal(shape)
        return (np.abs(a) + 0.5 if positive else a).astype(dtype)

    x, w, b = r(2, 4, 9, 7), r(6, 2, 3, 3), r(6)
    gy_conv = r(2, 6, 5, 7)
    gamma, beta, mean, invstd = r(4), r(4), r(4), r(4, positive=True)
    gy_pool = r(2, 4, 5, 4)
    _, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    x2, w2, gy2 = r(3, 5), r(4, 5), r(3, 4)
    z, target = r(5, 7), rng.integers(0, 7, 5)
    mask = rng.random(x.shape) > 0.3
    act_y = F.sigmoid(x)
    bn_y = F.batch_norm2d(x, gamma, beta)[0]
    flat_x, flat_y, flat_b = r(2, 3, 40), np.empty((2, 3, 40), dtype), r(3)
    w1x1, b2, running_mean, running_var = r(3, 4, 1, 1), r(4), r(4), r(4, positive=True)
    g1, b1, m1, s1 = r(5), r(5), r(5), r(5, positive=True)
    gy_maxout, gy_gap = r(2, 2, 9, 7), r(2, 4, 1, 1)
    conv = dict(stride=(2, 1), padding=1, groups=2)
    return [
        ("conv2d", lambda: F.conv2d(x, w, b, **conv)),
        ("conv2d relu", lambda: F.conv2d(x, w, b, **conv, activation="relu")),
        ("conv2d 1x1", lambda: F.conv2d(x, w1x1)),
        ("conv2d_backward", lambda: F.conv2d_backward(gy_conv, x, w, **conv)),
        ("linear", lambda: F.linear(x2, w2, b2)),
        ("linear_backward", lambda: F.linear_backward(gy2, x2, w2)),
        ("max_pool2d", lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True)),
        ("max_pool2d_backward", lambda: F.max_pool2d_backward(gy_pool, x, 3, 2, 1)),
        ("max_pool2d_backward indices",
         lambda: F.max_pool2d_backward(gy_pool, x, 3, 2, 1, indices=idx)),
        ("avg_pool2d", lambda: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
        ("avg_pool2d_backward", lambda: F.avg_pool2d_backward(gy_pool, x.shape, 3, 2, 1)),
        ("global_avg_pool2d", lambda: F.global_avg_pool2d(x)),
        ("global_avg_pool2d_backward",
         lambda: F.global_avg_pool2d_backward(gy_gap, x.shape)),
        ("batch_norm2d", lambda: F.batch_norm2d(x, gamma, beta, running_mean, running_var)),
        ("batch_norm2d eval relu", lambda: F.batch_norm2d(
            x, gamma, beta, mean, invstd, training=False, activation="relu")),
        ("batch_norm2d_backward", lambda: F.batch_norm2d_backward(x, x, gamma, mean, invstd)),
        ("batch_norm2d_backward relu", lambda: F.batch_norm2d_backward(
            x, x, gamma, mean, invstd, y=bn_y, activation="relu")),
        ("batch_norm1d", lambda: F.batch_norm1d(x2, g1, b1)),
        ("batch_norm1d_backward", lambda: F.batch_norm1d_backward(x2, x2, g1, m1, s1)),
        ("activations", lambda: (F.relu(x), F.leaky_relu(x), F.elu(x), F.sigmoid(x),
                                 F.tanh(x))),
        ("activation backwards", lambda: (
            F.relu_backward(x, x), F.leaky_relu_backward(x, x), F.elu_backward(x, x),
            F.sigmoid_backward(x, act_y), F.tanh_backward(x, act_y))),
        ("maxout", lambda: (F.maxout(x, 2), F.maxout_backward(gy_maxout, x, 2))),
        ("dropout", lambda: (F.dropout(x, 0.3, rng=1), F.dropout_backward(x, mask, 0.3))),
        ("softmax", lambda: (F.softmax(z), F.log_softmax(z, axis=0),
                             F.softmax_backward(z, F.softmax(z)),
                             F.log_softmax_backward(z, F.log_softmax(z)))),
        ("losses", lambda: (F.cross_entropy(z, target), F.cross_entropy_backward(z, target),
                            F.mse_loss(x, act_y), F.mse_loss_backward(x, act_y))),
        ("bias_act kernel", lambda: _kernels.bias_act(flat_y, flat_x, flat_b, 1)),
    ]


def compiled_ops() -> list:
    """The functional ops that are compiled wrappers (not re-exports of the reference)."""
    return sorted(name for name in F.__all__
                  if not getattr(F, name).__module__.startswith(
                      ("convcore.reference", "convcore._checks")))


THREADS = (1, 2)


def settings():
    for isa in _kernels.available_isas():
        for dtype in (np.float32, np.float64):
            for threads in THREADS:
                yield isa, dtype, threads


def run(iters: int) -> None:
    for isa, dtype, threads in settings():
        _kernels.set_isa(isa)
        convcore.set_num_threads(threads)
        t0 = time.perf_counter()
        for _, call in calls(dtype):
            for _ in range(iters):
                call()
        print(f"{isa:7s} {np.dtype(dtype).name} {threads} thread(s): {iters} x each call "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_check(rounds: int, allowed_mib: float) -> int:
    """Every call ``rounds`` times (the ISA / dtype / thread setting rotating each round);
    RSS after the first 10 % of the rounds (warm-up: caches, pools) vs at the end."""
    per_setting = [(isa, threads, [call for _, call in calls(dtype)])
                   for isa, dtype, threads in settings()]
    warm = max(1, rounds // 10)
    samples = []
    t0 = time.perf_counter()
    for i in range(rounds):
        isa, threads, round_calls = per_setting[i % len(per_setting)]
        _kernels.set_isa(isa)
        convcore.set_num_threads(threads)
        for call in round_calls:
            call()
        if i + 1 == warm or (i + 1) % max(1, rounds // 5) == 0:
            samples.append((i + 1, rss_mib()))
    print("RSS (MiB) after round: " + ", ".join(f"{n}: {m:.1f}" for n, m in samples))
    growth = samples[-1][1] - samples[0][1]
    print(f"{len(per_setting[0][2])} calls per round, {rounds} rounds "
          f"({time.perf_counter() - t0:.0f} s): RSS grew {growth:+.2f} MiB after the warm-up "
          f"(allowed {allowed_mib} MiB)")
    return 0 if growth <= allowed_mib else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=0, help="calls of each op per setting")
    parser.add_argument("--rss", type=int, default=0, help="rounds of the RSS check")
    parser.add_argument("--allowed-growth-mib", type=float, default=4.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts to run each call with (default: 1 2)")
    args = parser.parse_args()
    global THREADS
    THREADS = tuple(args.threads)
    print(f"convcore {convcore.build_info()['isas_available']}; compiled functional ops: "
          f"{compiled_ops() or 'none (functional is the NumPy reference)'}", flush=True)
    if args.iters:
        run(args.iters)
    if args.rss:
        return rss_check(args.rss, args.allowed_growth_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
