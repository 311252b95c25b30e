from .ranked_gallery_hook import RankedGalleryHook, draw_ranked_grid

__all__ = ['RankedGalleryHook', 'draw_ranked_grid']
