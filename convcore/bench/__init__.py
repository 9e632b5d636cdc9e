"""convcore.bench: the benchmark harness (``python -m convcore bench``) and its shared cases.

- ``cases``: named shapes and, per case, how convcore, convcore.reference and torch run it
  (also used by the pytest-benchmark suite in bench/);
- ``runner``: check against the oracle, then time the implementations interleaved;
- ``peak``: the measured FMA peak of the ISA in use; ``memory``: conv workspace per shape;
- ``report``: table, JSON, plot; ``cli``: the command line (``main(argv)``).
"""

from .cases import CONV_SHAPES, DEFAULT_SHAPES, OPS, Case, select_cases
from .cli import main, run_benchmarks
from .runner import BenchMismatch

__all__ = ["main", "run_benchmarks", "select_cases", "BenchMismatch", "Case", "CONV_SHAPES",
           "DEFAULT_SHAPES", "OPS"]
