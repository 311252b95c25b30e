from .vae_visualization_hook import VAEVisualizationHook

__all__ = ['VAEVisualizationHook']
