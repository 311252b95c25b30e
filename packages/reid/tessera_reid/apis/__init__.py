"""Python API of tessera-reid: registers its output adapter with tessera-core."""
from .inference import ReIDOutputAdapter

__all__ = ['ReIDOutputAdapter']
