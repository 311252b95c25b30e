"""tessera-detection: object detection on mmdet 3.x."""
from .version import __version__

__all__ = ['__version__']
