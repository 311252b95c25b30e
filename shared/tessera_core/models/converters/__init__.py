"""Weight converters from other libraries' checkpoints to tessera-core models."""
from .timm_ghostnet import convert_timm_ghostnet

__all__ = ['convert_timm_ghostnet']
