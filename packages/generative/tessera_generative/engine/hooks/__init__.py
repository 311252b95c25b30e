from .gen_sample_grid_hook import GenSampleGridHook, make_grid
from .vae_visualization_hook import VAEVisualizationHook

__all__ = ['VAEVisualizationHook', 'GenSampleGridHook', 'make_grid']
