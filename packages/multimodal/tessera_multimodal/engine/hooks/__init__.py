from .caption_grid_hook import CaptionGridHook

__all__ = ['CaptionGridHook']
