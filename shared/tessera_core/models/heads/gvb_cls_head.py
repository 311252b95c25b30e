"""Linear classification head with GVB's generator-side bridge.

Paper: "Gradually Vanishing Bridge for Adversarial Domain Adaptation", Cui, Wang, Zhuo, Su, Huang,
Tian, CVPR 2020, arXiv:2003.13183. Official code: https://github.com/cuishuhao/GVB
(``GVB-GD/network.py``, ``ResNetFc.forward``).

The classifier output is split into a domain-invariant part and a bridge: a second linear layer
on the same features models the domain-specific part ``b_g(x)``, and the output used for the
classification loss, the discriminator and prediction is ``y(x) = fc(x) - b_g(x)`` (official
``y = fc(x) - gvbg(x)``; the bridge also stays subtracted at test time). The bridge penalty
``mean |b_g|`` (see :class:`~tessera_core.models.classifiers.GVBClassifier`) makes it vanish
gradually, so that ``y`` ends up carrying the prediction on its own.
"""
from typing import Tuple

import torch
from torch import nn

from tessera_core.registry import MODELS

from .linear_cls_head import LinearClsHead


@MODELS.register_module()
class GVBClsHead(LinearClsHead):
    """(N, in_channels) -> ``fc(x) - bridge(x)`` (N, num_classes).

    Args:
        with_bridge (bool): Add the bridge (``False`` is a plain :class:`LinearClsHead`, the official
            ``GVBG = 0``).
        Other arguments as :class:`LinearClsHead` (the bridge is initialised like ``fc``).
    """

    def __init__(self, num_classes: int, in_channels: int, with_bridge: bool = True, **kwargs):
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.bridge = nn.Linear(in_channels, num_classes) if with_bridge else None

    @property
    def with_bridge(self) -> bool:
        return self.bridge is not None

    def forward_with_bridge(self, feats: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns the bridged logits ``fc(x) - b_g(x)`` and the bridge ``b_g(x)``, both (N, num_classes)
        (the bridge is zeros without one)."""
        x = self.dropout(self.pre_logits(feats))
        logits = self.fc(x)
        if self.bridge is None:
            return logits, torch.zeros_like(logits)
        bridge = self.bridge(x)
        return logits - bridge, bridge

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.forward_with_bridge(feats)[0]
