"""pytest-benchmark: one training step and one inference batch of the issue-5 CNNs, convcore
(convcore.nn) vs the same model on the reference ops vs the identical torch model
(parametrised by conftest.py from convcore.bench.cases)."""

import pytest

from convcore.bench.train import convcore_nn

OP = "train"

if convcore_nn() is None:
    pytest.skip("convcore.nn is not in this build yet (issue 5)", allow_module_level=True)


def test_train(run_case, case, impl):
    run_case(case, impl)
