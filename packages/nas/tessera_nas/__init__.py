"""tessera-nas: neural architecture search."""
from .version import __version__

__all__ = ['__version__']
