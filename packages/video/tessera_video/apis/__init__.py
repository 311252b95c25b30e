"""Python API of tessera-video: registers its output adapter with tessera-core."""
from .inference import VideoOutputAdapter

__all__ = ['VideoOutputAdapter']
