"""pytest-benchmark: the conv cases of convcore.bench, convcore vs reference vs torch
(parametrised by conftest.py from convcore.bench.cases)."""

OP = "conv"


def test_conv(run_case, case, impl):
    run_case(case, impl)
