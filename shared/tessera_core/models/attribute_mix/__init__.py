"""Attribute Mix (Li et al., VCIP 2020, arXiv:2004.02684): attribute mining from a trained classifier's
activation maps, semantic mixing of attribute regions, a classifier trained on the mixed soft labels."""
from .attribute_miner import AttributeMiner, class_activation_maps, fill_boxes, peak_region_boxes
from .attribute_mix import attribute_mix
from .attribute_mix_classifier import AttributeMixClassifier

__all__ = ['AttributeMiner', 'class_activation_maps', 'fill_boxes', 'peak_region_boxes', 'attribute_mix',
           'AttributeMixClassifier']
