"""A ``Recognizer3D`` whose backbone is frozen: the linear probe of self-supervised video features.

The standard linear evaluation of self-supervised representations (e.g. MoCo's, https://github.com/facebookresearch/
moco ``main_lincls.py``): the pretrained backbone receives no gradient and stays in eval mode (BatchNorm uses its
pretraining running statistics), only the head is trained. The package's ``ResNet3d`` has no ``frozen_stages`` /
``norm_eval``, hence this subclass.
"""
import torch

from tessera_video.registry import MODELS

from .recognizer3d import Recognizer3D


@MODELS.register_module()
class LinearProbeRecognizer3D(Recognizer3D):
    """``Recognizer3D`` with ``backbone.requires_grad_(False)`` and the backbone kept in eval mode; same args and
    shapes. Load the pretrained backbone with ``backbone.init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.backbone.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor):
        with torch.no_grad():
            return super().extract_feat(inputs)
