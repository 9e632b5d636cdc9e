"""convcore: fast CPU CNN layers in C under a small PyTorch-shaped API.

``convcore.functional`` (alias ``convcore.F``) holds the ops, ``convcore.reference`` the same ops in
plain NumPy (the oracle of the tests and benchmarks).
"""

__version__ = "0.1.0"

# _config first: it loads the compiled kernels (see _config._load_kernels).
from ._config import (build_info, get_num_threads, get_winograd,  # noqa: I001
                      set_num_threads, set_winograd)
from . import _fork, functional, reference, testing  # noqa: F401 (_fork: at-fork hook)

F = functional

__all__ = ["F", "functional", "reference", "testing", "build_info", "get_num_threads",
           "set_num_threads", "get_winograd", "set_winograd", "__version__"]

# Model API (pure Python over convcore.functional).
from . import data, init, nn, optim  # noqa: E402
from .io import load, save  # noqa: E402
from .summary import summary  # noqa: E402
from .training import History, evaluate, fit, predict  # noqa: E402

__all__ += ["nn", "optim", "data", "init", "fit", "evaluate", "predict", "History"]
__all__ += ["save", "load", "summary"]
from . import distributed  # noqa: E402  (mpi4py is imported only when it is used)

__all__ += ["distributed"]
