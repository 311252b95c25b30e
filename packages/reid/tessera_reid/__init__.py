"""tessera-reid: person re-identification."""
from .version import __version__

__all__ = ['__version__']
