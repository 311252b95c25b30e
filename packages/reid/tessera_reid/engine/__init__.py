from .hooks import (CameraBNStatsHook, camera_batches, camera_mean_spread, estimate_camera_stats,
                    HardIdentitySearchHook, IncrementalTripletMarginHook, RankedGalleryHook, draw_ranked_grid,
                    identity_centroids, margin_at_epoch)

__all__ = ['CameraBNStatsHook', 'camera_batches', 'camera_mean_spread', 'estimate_camera_stats',
           'HardIdentitySearchHook', 'IncrementalTripletMarginHook', 'RankedGalleryHook', 'draw_ranked_grid',
           'identity_centroids', 'margin_at_epoch']
