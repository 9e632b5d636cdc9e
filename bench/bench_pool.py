"""pytest-benchmark: the pool cases of convcore.bench, convcore vs reference vs torch
(parametrised by conftest.py from convcore.bench.cases)."""

OP = "pool"


def test_pool(run_case, case, impl):
    run_case(case, impl)
