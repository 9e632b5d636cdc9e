"""Threads and processes: kernels called from two Python threads at once give the serial
results; the kernels release the GIL; a process forked after the OpenMP pool ran does not hang
(convcore/_fork.py: gcc's libgomp hangs a forked child's next multi-threaded region, so the
child runs convcore on one thread).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import convcore
from convcore import _kernels
from convcore import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _workload(seed: int, dtype=np.float32):
    """A list of zero-argument calls covering every kernel family, on inputs from ``seed``."""
    rng = np.random.default_rng(seed)

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    x, w, b = r(4, 8, 19, 17), r(12, 4, 3, 3), r(12)
    gy_conv = r(4, 12, 10, 17)
    gamma, beta = r(8), r(8)
    gy_pool = r(4, 8, 10, 9)
    z, target = r(16, 10), rng.integers(0, 10, 16)
    y3 = np.empty((4, 8, 19 * 17), dtype)
    w1x1, w_lin, b_lin = r(8, 8, 1, 1), r(5, 8 * 19 * 17), r(5)
    return [
        lambda: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2, activation="relu"),
        lambda: F.conv2d_backward(gy_conv, x, w, stride=(2, 1), padding=1, groups=2),
        lambda: F.conv2d(x, w1x1),
        lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True),
        lambda: F.max_pool2d_backward(gy_pool, x, 3, 2, 1),
        lambda: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        lambda: F.avg_pool2d_backward(gy_pool, x.shape, 3, 2, 1),
        lambda: F.global_avg_pool2d(x),
        lambda: F.batch_norm2d(x, gamma, beta),
        lambda: F.batch_norm2d_backward(x, x, gamma, beta, np.abs(gamma) + 1),
        lambda: F.linear(x.reshape(4, -1), w_lin, b_lin),
        lambda: (F.relu(x), F.sigmoid(x), F.tanh(x), F.elu(x), F.maxout(x, 2)),
        lambda: F.dropout(x, 0.5, rng=3),
        lambda: (F.cross_entropy_backward(z, target), F.softmax(z)),
        lambda: _kernels.bias_act(y3, x.reshape(4, 8, -1), gamma, 1) or y3.copy(),
    ]


def _flatten(result) -> list:
    if isinstance(result, tuple):
        return [a for part in result for a in _flatten(part)]
    return [np.asarray(result)]


def _run(calls, repeats: int) -> list:
    out = []
    for _ in range(repeats):
        out.append([_flatten(call()) for call in calls])
    return out


@pytest.mark.parametrize("threads_per_call", [1, 2])
def test_two_python_threads_give_the_serial_results(threads_per_call):
    convcore.set_num_threads(threads_per_call)
    try:
        workloads = [_workload(1), _workload(2)]
        serial = [_run(calls, 1)[0] for calls in workloads]
        results: dict = {}
        errors: list = []
        barrier = threading.Barrier(2)

        def worker(i):
            try:
                barrier.wait()
                results[i] = _run(workloads[i], 8)
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        for i in range(2):
            for repeat in results[i]:
                for got_call, want_call in zip(repeat, serial[i]):
                    for got, want in zip(got_call, want_call):
                        np.testing.assert_array_equal(got, want)
    finally:
        convcore.set_num_threads(None)


def test_two_threads_sharing_one_input():
    x = np.random.default_rng(3).standard_normal((8, 16, 32, 32)).astype(np.float32)
    w = np.random.default_rng(4).standard_normal((16, 16, 3, 3)).astype(np.float32)
    x.flags.writeable = False
    want = F.conv2d(x, w, padding=1)
    got: list = [None, None]

    def worker(i):
        got[i] = [F.conv2d(x, w, padding=1) for _ in range(4)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for per_thread in got:
        for y in per_thread:
            np.testing.assert_array_equal(y, want)


# --- the GIL is released while a kernel computes -------------------------------------------

def _gil_released_during(call, repeats: int = 1) -> tuple[int, float]:
    """Run ``call`` ``repeats`` times while another Python thread ticks; return (ticks seen in
    the middle 40 % of the calls, total seconds in calls). With the GIL held for a whole
    call, no tick can land inside it. (The edges of each span are not counted: the caller
    may hand the GIL to the ticker just before the call starts and just after it returns,
    for a switch interval or, on a loaded machine, tens of ms.)"""
    ticks: list = []
    stop = threading.Event()

    def ticker():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 64 == 0:
                ticks.append(time.perf_counter())

    thread = threading.Thread(target=ticker)
    thread.start()
    time.sleep(0.02)
    spans = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        spans.append((t0, time.perf_counter()))
    stop.set()
    thread.join()
    inside = sum(any(t0 + 0.3 * (t1 - t0) <= t <= t1 - 0.3 * (t1 - t0) for t0, t1 in spans)
                 for t in ticks)
    return inside, sum(t1 - t0 for t0, t1 in spans)


def _big(*shape):
    return np.full(shape, 0.5, np.float32)     # values don't matter here, only time does


def test_the_gil_detector_sees_a_held_gil():
    """Control: builtin sum over a range runs in C holding the GIL; no tick gets through."""
    ticks, seconds = _gil_released_during(lambda: sum(range(2 * 10**6)), repeats=3)
    assert ticks == 0, f"{ticks} ticks during a GIL-holding {seconds * 1e3:.0f} ms call"


def _bias_act(n):
    x, y, b = _big(n, 16, 2**15), np.empty((n, 16, 2**15), np.float32), _big(16)
    return lambda: _kernels.bias_act(y, x, b, 1)


def _conv(n):
    x, w = _big(n, 32, 32, 32), _big(32, 32, 3, 3)
    return lambda: F.conv2d(x, w, padding=1)


def _conv_backward(n):
    x, w, gy = _big(n, 32, 32, 32), _big(32, 32, 3, 3), _big(n, 32, 32, 32)
    return lambda: F.conv2d_backward(gy, x, w, padding=1)


def _max_pool(n):
    x = _big(n, 32, 64, 64)
    return lambda: F.max_pool2d(x, 3, 1, 1)


def _batch_norm(n):
    x, g = _big(n, 32, 64, 64), _big(32)
    return lambda: F.batch_norm2d(x, g, g)


@pytest.mark.parametrize("make", [_bias_act, _conv, _conv_backward, _max_pool, _batch_norm],
                         ids=lambda f: f.__name__.strip("_"))
def test_kernels_release_the_gil(make):
    """Grow the batch until a call lasts >= 60 ms, then watch another thread run during
    ~0.5 s of such calls (the machine is shared: the ticker needs time slices to show up)."""
    convcore.set_num_threads(1)          # leave the other core to the ticking thread
    try:
        for n in (1, 2, 4, 8, 16, 32, 64, 128):
            call = make(n)
            call()                       # first touch of the output pages
            t0 = time.perf_counter()
            call()
            seconds = time.perf_counter() - t0
            if seconds >= 0.06:
                break
        ticks, seconds = _gil_released_during(call, repeats=max(3, int(0.5 / seconds)))
    finally:
        convcore.set_num_threads(None)
    assert ticks > 0, f"no Python thread ran during {seconds * 1e3:.0f} ms of calls (GIL held)"


# --- fork after the OpenMP pool ran ------------------------------------------------------------

FORK_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    sys.path.insert(0, {root!r})
    import convcore
    from convcore import _kernels, functional as F

    convcore.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 4097)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    xc = rng.standard_normal((4, 8, 32, 32)).astype(np.float32)
    wc = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)

    def compute():
        y = np.empty_like(x)
        _kernels.bias_act(y, x, b, 1)             # large enough to run in parallel
        return y, F.conv2d(xc, wc, padding=1), F.max_pool2d(xc, 2)

    parent = compute()                            # the OpenMP pool now exists
    pid = os.fork()
    if pid == 0:
        {child}
        same = all(np.array_equal(a, b) for a, b in zip(compute(), parent))
        os._exit(0 if same and convcore.get_num_threads() == 1 else 3)
    again = compute()                             # the parent still runs on its threads
    assert convcore.get_num_threads() == 2
    deadline = time.time() + 30
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("child exit", os.waitstatus_to_exitcode(status))
            sys.exit(0)
        time.sleep(0.02)
    os.kill(pid, 9)
    print("child HUNG")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.parametrize("child", ["pass", "convcore.set_num_threads(1)"])
def test_fork_after_openmp_does_not_hang_the_child(child):
    code = FORK_SCRIPT.format(root=ROOT, child=child)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "child exit 0", out.stdout + out.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_multiprocessing_fork_pool_after_openmp():
    code = textwrap.dedent(f"""
        import multiprocessing as mp, sys
        import numpy as np
        sys.path.insert(0, {ROOT!r})
        import convcore
        from convcore import functional as F

        x = np.random.default_rng(0).standard_normal((4, 8, 32, 32)).astype(np.float32)
        w = np.random.default_rng(1).standard_normal((8, 8, 3, 3)).astype(np.float32)

        def job(i):
            return F.conv2d(x + i, w, padding=1)

        convcore.set_num_threads(2)
        want = [job(i) for i in range(4)]
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map_async(job, range(4)).get(timeout=60)
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
