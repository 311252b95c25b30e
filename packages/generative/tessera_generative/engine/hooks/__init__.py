from .gen_sample_grid_hook import GenSampleGridHook, make_grid
from .sdae_teacher_update_hook import SdAETeacherUpdateHook
from .vae_visualization_hook import VAEVisualizationHook

__all__ = ['VAEVisualizationHook', 'GenSampleGridHook', 'make_grid', 'SdAETeacherUpdateHook']
