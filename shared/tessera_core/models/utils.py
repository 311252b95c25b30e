"""Small helpers shared by model files."""
from typing import Optional


def make_divisible(value: float, divisor: int = 8, min_value: Optional[int] = None,
                   round_limit: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor``.

    The MobileNet/GhostNet rule: round ``value`` to the nearest multiple of
    ``divisor`` (halves round up), never below ``min_value`` (default
    ``divisor``), and add one more ``divisor`` if rounding lost more than
    ``1 - round_limit`` of ``value``.

    Args:
        value (float): Requested number of channels, e.g. ``16 * width``.
        divisor (int): The result is a multiple of this.
        min_value (int, optional): Lower bound; ``divisor`` when None.
        round_limit (float): Smallest allowed ratio ``result / value``.

    Returns:
        int: e.g. ``make_divisible(16 * 1.3, 4) == 20``, ``make_divisible(72 * 0.25, 4) == 20``.
    """
    if divisor <= 0:
        raise ValueError(f'divisor must be a positive integer, got {divisor}')
    lower = divisor if min_value is None else min_value
    rounded = max(lower, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded
