from .visual_grid_encoder import VisualGridEncoder, sincos_2d

__all__ = ['VisualGridEncoder', 'sincos_2d']
