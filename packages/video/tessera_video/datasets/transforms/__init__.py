from .formatting import PackVideoInputs

__all__ = ['PackVideoInputs']
