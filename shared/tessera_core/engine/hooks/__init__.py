from .cls_visualization_hook import ClsVisualizationHook
from .exact_resume_hook import ExactResumeHook
from .mbn_double_forward_hook import MBNDoubleForwardHook
from .norm_decay_hook import NormDecayHook

__all__ = ['ClsVisualizationHook', 'ExactResumeHook']
__all__ += ['MBNDoubleForwardHook']
__all__ += ['NormDecayHook']
from .scal_structure_hook import SCALStructureHook
__all__ += ['SCALStructureHook']
