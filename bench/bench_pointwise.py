"""pytest-benchmark: the pointwise cases of convcore.bench, convcore vs reference vs torch
(parametrised by conftest.py from convcore.bench.cases)."""

OP = "pointwise"


def test_pointwise(run_case, case, impl):
    run_case(case, impl)
