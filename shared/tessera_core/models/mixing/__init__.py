"""Mixing policies: Mixup and CutMix batch augments (soft labels through ``ClsHead``), AutoMix."""
from .automix_classifier import AutoMixClassifier
from .automix_momentum_hook import AutoMixMomentumHook, automix_momentum
from .batch_augments import RandomBatchAugment, check_mixing_ratio, check_soft_label_support
from .cutmix import CutMix, cutmix, cutmix_box
from .mix_block import MixBlock
from .mixup import Mixup, mixup

__all__ = ['AutoMixClassifier', 'AutoMixMomentumHook', 'automix_momentum', 'RandomBatchAugment',
           'check_mixing_ratio', 'check_soft_label_support', 'CutMix', 'cutmix', 'cutmix_box', 'MixBlock',
           'Mixup', 'mixup']
