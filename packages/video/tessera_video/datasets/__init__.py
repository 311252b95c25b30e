from .moving_digits import DIRECTIONS, MovingDigits, render_clip
from .transforms import PackVideoInputs

__all__ = ['DIRECTIONS', 'MovingDigits', 'render_clip', 'PackVideoInputs']
