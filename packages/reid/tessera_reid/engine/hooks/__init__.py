from .camera_bn_stats_hook import CameraBNStatsHook, camera_batches, camera_mean_spread, estimate_camera_stats
from .hard_identity_search_hook import HardIdentitySearchHook, identity_centroids
from .incremental_margin_hook import IncrementalTripletMarginHook, margin_at_epoch
from .ranked_gallery_hook import RankedGalleryHook, draw_ranked_grid

__all__ = ['CameraBNStatsHook', 'camera_batches', 'camera_mean_spread', 'estimate_camera_stats',
           'HardIdentitySearchHook', 'identity_centroids', 'IncrementalTripletMarginHook', 'margin_at_epoch',
           'RankedGalleryHook', 'draw_ranked_grid']
