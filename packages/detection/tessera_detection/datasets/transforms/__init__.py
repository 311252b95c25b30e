"""Data transforms of rotated boxes (registered in ``tessera_detection.registry.TRANSFORMS``)."""
from .formatting import PackRotatedDetInputs
from .loading import LoadRotatedAnnotations

__all__ = ['LoadRotatedAnnotations', 'PackRotatedDetInputs']
