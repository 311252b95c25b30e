from .recognizer2d import Recognizer2D
from .recognizer3d import Recognizer3D

__all__ = ['Recognizer2D', 'Recognizer3D']
