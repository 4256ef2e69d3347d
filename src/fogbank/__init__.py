"""fogbank: the AWS machine-learning pipeline, open source, on one machine.

The public entry points are :class:`Fogbank` (the object that owns every engine)
and :class:`FogbankConfig` (its one typed configuration).
"""

from fogbank.app import Fogbank
from fogbank.core.config import FogbankConfig

__version__ = "0.1.0"

__all__ = ["Fogbank", "FogbankConfig", "__version__"]
