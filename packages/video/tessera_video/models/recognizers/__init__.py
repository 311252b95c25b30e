from .recognizer2d import Recognizer2D
from .recognizer3d import Recognizer3D
from .recognizer_gcn import RecognizerGCN

__all__ = ['Recognizer2D', 'Recognizer3D', 'RecognizerGCN']
