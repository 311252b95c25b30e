from .domain_adaptation_classifier import DomainAdaptationClassifier
from .image_classifier import ImageClassifier
from .rsc_classifier import RSCImageClassifier, rsc_channel_mask, rsc_select_samples, rsc_spatial_mask

__all__ = ['DomainAdaptationClassifier', 'ImageClassifier']
__all__ += ['RSCImageClassifier', 'rsc_channel_mask', 'rsc_select_samples', 'rsc_spatial_mask']
from .gvb_classifier import GVBClassifier
from .scal_classifier import SCALClassifier, cosine_distance, source_class_centers, spherical_kmeans
__all__ += ['GVBClassifier', 'SCALClassifier', 'cosine_distance', 'source_class_centers', 'spherical_kmeans']
