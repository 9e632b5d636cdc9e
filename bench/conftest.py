"""pytest-benchmark suite over the cases of convcore.bench (one list of shapes for the CLI and
this suite). Run it with ``pytest bench/ --benchmark-only`` (add ``--benchmark-json=PATH`` to
save); plain ``pytest`` only collects tests/ (pyproject's testpaths).

Each benchmark is one case x one implementation (convcore, reference, torch), grouped by case
(op/name/shape/variant), so pytest-benchmark's table compares the implementations side by side.
Before timing, convcore's result is checked against torch (or the reference without torch).
Threads: convcore's default (OMP_NUM_THREADS or the usable cores), torch set to the same.
"""

import pytest

import convcore
from convcore.bench import cases as bench_cases
from convcore.bench.runner import ThreadScope, check_case, cycling, input_ring


def pytest_collect_file(file_path, parent):
    """Collect bench_*.py as test modules (pytest's default pattern is test_*.py). A file named
    on the command line is already collected by pytest itself."""
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_")
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc):
    """Parametrise a bench test taking (case, impl) by its module's OP: every case of that op x
    every implementation, with ids such as conv/conv2d/vgg-28/fwd-torch."""
    if {"case", "impl"} <= set(metafunc.fixturenames):
        params = [pytest.param(case, impl, id=f"{case.id}-{impl}")
                  for case in bench_cases.select_cases(metafunc.module.OP)
                  for impl in case.impls()]
        metafunc.parametrize(("case", "impl"), params)


@pytest.fixture
def run_case(benchmark):
    """run_case(case, impl): check convcore's result, then benchmark ``impl`` on the case."""

    def run(case, impl):
        torch = bench_cases.optional_torch()
        if impl == "torch" and torch is None:
            pytest.skip("torch is not installed")
        if impl == "reference" and not case.reference_ok:
            pytest.skip(f"{case.id}: the NumPy reference is too slow to benchmark here")
        oracle = "torch" if torch is not None else "reference"
        n = convcore.get_num_threads()
        with ThreadScope(n, blas=n if impl == "reference" else 1):
            ring = input_ring(case)
            errors = check_case(case, oracle, ring[0])
            fn = cycling([case.builders[impl](inputs) for inputs in ring])
            benchmark.group = case.id
            benchmark.extra_info.update(
                impl=impl, unit=case.unit, work=case.work, threads=n, cache=case.cache,
                checked_against=oracle, max_error=max(errors.values()))
            benchmark(fn)

    return run
