from .hooks import (HardIdentitySearchHook, IncrementalTripletMarginHook, RankedGalleryHook, draw_ranked_grid,
                    identity_centroids, margin_at_epoch)

__all__ = ['HardIdentitySearchHook', 'IncrementalTripletMarginHook', 'RankedGalleryHook', 'draw_ranked_grid',
           'identity_centroids', 'margin_at_epoch']
