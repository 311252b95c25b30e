"""Python API of tessera-detection: registers its output adapter with tessera-core."""
from .inference import DetOutputAdapter

__all__ = ['DetOutputAdapter']
