"""The build machinery: ISA dispatch, thread control, build_info, the kernel path end to end."""

import os
import subprocess
import sys

import numpy as np
import pytest

import convcore
from convcore import _kernels


def bias_relu_reference(x, bias):
    return np.maximum(x + bias[None, :, None], 0)


def test_build_info_fields():
    info = convcore.build_info()
    assert info["isa"] in info["isas_available"]
    assert set(info["isas_available"]) <= set(info["isas_compiled"])
    assert "scalar" in info["isas_compiled"]
    if os.uname().machine == "x86_64":
        assert {"avx2", "avx512"} <= set(info["isas_compiled"])
    assert info["num_threads"] >= 1
    assert isinstance(info["openmp"], bool)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 7), (3, 5, 16), (2, 4, 33), (1, 2, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_kernel_every_isa(isa, shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    x_before = x.copy()
    y = np.empty_like(x)
    _kernels.bias_act(y, x, bias, 1)
    np.testing.assert_array_equal(y, bias_relu_reference(x, bias))
    np.testing.assert_array_equal(x, x_before)
    _kernels.bias_act(y, x, np.empty(0, dtype), 0)  # no bias, no activation: a copy
    np.testing.assert_array_equal(y, x)


def test_bias_relu_keeps_nan(isa):
    x = np.full((1, 1, 19), np.nan, np.float32)
    y = np.empty_like(x)
    _kernels.bias_act(y, x, np.zeros(1, np.float32), 1)
    assert np.isnan(y).all()


def test_threads_identical_results(rng):
    x = rng.standard_normal((8, 16, 4097)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    results = []
    for n in (1, 2):
        convcore.set_num_threads(n)
        assert convcore.get_num_threads() == (n if convcore.build_info()["openmp"] else 1)
        y = np.empty_like(x)
        _kernels.bias_act(y, x, bias, 1)
        results.append(y)
    convcore.set_num_threads(None)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects(bad):
    with pytest.raises(ValueError, match="positive int"):
        convcore.set_num_threads(bad)


def test_threadpoolctl_limit_is_honoured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not convcore.build_info()["openmp"]:
        pytest.skip("built without OpenMP")
    convcore.set_num_threads(None)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert convcore.get_num_threads() == 1


def run_python(code, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_environment_chooses_isa_and_threads():
    code = "import convcore; i = convcore.build_info(); print(i['isa'], i['num_threads'])"
    out = run_python(code, CONVCORE_ISA="scalar", OMP_NUM_THREADS="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["scalar", "1"]


def test_environment_unrunnable_isa_is_refused_with_a_warning():
    missing = [i for i in ("avx2", "avx512") if i not in _kernels.available_isas()]
    name = missing[0] if missing else "not-an-isa"
    out = run_python("import convcore; print(convcore.build_info()['isa'])", CONVCORE_ISA=name)
    assert out.returncode == 0, out.stderr
    assert "CONVCORE_ISA ignored" in out.stderr
    assert out.stdout.strip() == _kernels.available_isas()[-1]  # the best this CPU runs


def test_set_isa_rejects_unknown():
    with pytest.raises(ValueError, match="unknown ISA"):
        _kernels.set_isa("sse9")


def test_openmp_wait_policy_is_passive_for_convcore_only():
    code = ("import os, convcore; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "unset"  # restored after loading: torch keeps its default
    out = run_python(code, OMP_WAIT_POLICY="active")
    assert out.stdout.strip() == "active"  # a user's choice is left alone
