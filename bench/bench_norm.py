"""pytest-benchmark: the norm cases of convcore.bench, convcore vs reference vs torch
(parametrised by conftest.py from convcore.bench.cases)."""

OP = "norm"


def test_norm(run_case, case, impl):
    run_case(case, impl)
