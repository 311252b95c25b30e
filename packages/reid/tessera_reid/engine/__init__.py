from .hooks import RankedGalleryHook, draw_ranked_grid

__all__ = ['RankedGalleryHook', 'draw_ranked_grid']
