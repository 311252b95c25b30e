from .hard_identity_sampler import GlobalHardIdentitySampler
from .pk_sampler import PKSampler

__all__ = ['GlobalHardIdentitySampler', 'PKSampler']
