from .linear_probe_recognizer3d import LinearProbeRecognizer3D
from .recognizer2d import Recognizer2D
from .recognizer3d import Recognizer3D
from .recognizer_gcn import RecognizerGCN

__all__ = ['LinearProbeRecognizer3D', 'Recognizer2D', 'Recognizer3D', 'RecognizerGCN']
