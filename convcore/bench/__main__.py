"""``python -m convcore.bench`` (same as ``python -m convcore bench``)."""

import sys

from .cli import main

sys.exit(main())
