"""Pure-NumPy reference implementation of every convcore op: the oracle of the tests.

Readable first: each module opens with the formulas and shapes; forward and backward sit
side by side. Results are computed in float64 and returned in the input dtype.
"""

from .activations import *  # noqa: F403
from .activations import __all__ as _activations
from .conv import *  # noqa: F403
from .conv import __all__ as _conv
from .linear import *  # noqa: F403
from .linear import __all__ as _linear
from .losses import *  # noqa: F403
from .losses import __all__ as _losses
from .norm import *  # noqa: F403
from .norm import __all__ as _norm
from .pool import *  # noqa: F403
from .pool import __all__ as _pool

__all__ = [*_conv, *_linear, *_pool, *_norm, *_activations, *_losses]
