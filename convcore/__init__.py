"""convcore: fast CPU CNN layers in C under a small PyTorch-shaped API.

``convcore.functional`` (alias ``convcore.F``) holds the ops, ``convcore.reference`` the same ops in
plain NumPy (the oracle of the tests and benchmarks).
"""

__version__ = "0.1.0"

from . import functional, reference, testing
from ._config import build_info, get_num_threads, set_num_threads

F = functional

__all__ = ["F", "functional", "reference", "testing", "build_info", "get_num_threads",
           "set_num_threads", "__version__"]
