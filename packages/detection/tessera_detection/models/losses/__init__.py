"""Losses of tessera-detection."""
from .gaussian_dist_loss import GWDLoss, KLDLoss, gwd_distance, kld_distance, rbox2gaussian

__all__ = ['GWDLoss', 'KLDLoss', 'gwd_distance', 'kld_distance', 'rbox2gaussian']
