"""convcore.functional (also ``convcore.F``): every op of the API, one module per family.

Each module currently re-exports the NumPy reference; kernel owners replace a module with
compiled wrappers of the same signatures (argument checks stay in ``convcore._checks``).
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
from .pool import max_pool2d_backward_argmax, max_pool2d_with_argmax  # noqa: F401 (extras)

__all__ = [*_conv, *_linear, *_pool, *_norm, *_activations, *_losses]
