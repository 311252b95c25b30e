"""tessera-video: video understanding."""
from .version import __version__

__all__ = ['__version__']
