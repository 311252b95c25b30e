"""What every stage-structured backbone of tessera-core shares: outputs by index, freezing, norm_eval."""
from typing import List, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class StagedBackbone(BaseModule):
    """Base of backbones made of ``stem``, ``stages`` (an ``nn.ModuleList``) and an optional ``final_conv``.

    Subclasses build those three attributes (``final_conv = None`` when it is absent) and set
    ``out_indices``, ``frozen_stages`` and ``norm_eval``; this class gives them the behaviour
    mmdet expects of a backbone:

    - ``forward`` runs stem -> stages -> final conv and returns the outputs whose index (stages
      0, 1, ..., then the final conv) is in ``out_indices``, in the order of ``out_indices``;
    - ``frozen_stages = k`` freezes the stem and the parts of index ``< k`` (no gradients, norms
      in eval mode), -1 freezes nothing;
    - ``norm_eval`` keeps every BatchNorm in eval mode while training.

    Shapes: (N, C, H, W) -> tuple of (N, C_i, H_i, W_i), one per out index.
    """

    def _parts(self) -> List[nn.Module]:
        """Stem, then the module of every out index that was built."""
        parts = [self.stem, *self.stages]
        final_conv = getattr(self, 'final_conv', None)
        if final_conv is not None:
            parts.append(final_conv)
        return parts

    def _freeze_stages(self) -> None:
        for m in self._parts()[:self.frozen_stages + 1]:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """x (N, C, H, W) -> tuple of feature maps in the order of ``out_indices``."""
        x = self.stem(x)
        feats = {}
        for i, part in enumerate(self._parts()[1:]):
            x = part(x)
            if i in self.out_indices:
                feats[i] = x
        return tuple(feats[i] for i in self.out_indices)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
