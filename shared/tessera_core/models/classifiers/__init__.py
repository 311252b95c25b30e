from .domain_adaptation_classifier import DomainAdaptationClassifier
from .image_classifier import ImageClassifier
from .rsc_classifier import RSCImageClassifier, rsc_channel_mask, rsc_select_samples, rsc_spatial_mask

__all__ = ['DomainAdaptationClassifier', 'ImageClassifier']
__all__ += ['RSCImageClassifier', 'rsc_channel_mask', 'rsc_select_samples', 'rsc_spatial_mask']
