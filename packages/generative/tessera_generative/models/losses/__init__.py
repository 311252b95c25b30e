from .gaussian_kl import diagonal_gaussian_kl, standard_normal_kl

__all__ = ['diagonal_gaussian_kl', 'standard_normal_kl']
