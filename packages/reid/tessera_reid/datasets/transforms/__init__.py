from .random_erasing import RandomErasing

__all__ = ['RandomErasing']
