"""Detectors of tessera-detection."""
from .cpn import CPN

__all__ = ['CPN']
