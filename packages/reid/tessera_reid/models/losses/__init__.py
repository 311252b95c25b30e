from .triplet_loss import TripletLoss, euclidean_dist, hard_example_mining

__all__ = ['TripletLoss', 'euclidean_dist', 'hard_example_mining']
