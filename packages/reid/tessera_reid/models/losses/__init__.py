from .center_loss import CenterLoss
from .triplet_loss import TripletLoss, euclidean_dist, hard_example_mining

__all__ = ['CenterLoss', 'TripletLoss', 'euclidean_dist', 'hard_example_mining']
