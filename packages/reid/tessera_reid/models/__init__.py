from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .reid_model import ReIDModel, with_last_stride

__all__ = ['ReIDModel', 'with_last_stride', 'BNNeckHead', 'TripletLoss', 'CenterLoss', 'euclidean_dist', 'hard_example_mining']
