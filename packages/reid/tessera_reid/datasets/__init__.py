from .embedded_digits_reid import EmbeddedDigitsReID
from .market1501 import Market1501, parse_market_name
from .samplers import PKSampler
from .transforms import RandomErasing

__all__ = ['EmbeddedDigitsReID', 'Market1501', 'parse_market_name', 'PKSampler', 'RandomErasing']
