from .cls_visualization_hook import ClsVisualizationHook

__all__ = ['ClsVisualizationHook']
