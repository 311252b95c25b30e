"""What every stage-structured backbone of tessera-core shares: outputs by index, freezing, norm_eval."""
from typing import List, Sequence, Tuple

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

    def _set_output_args(self, out_indices: Sequence[int], frozen_stages: int, norm_eval: bool, stem_stride: int,
                         num_outputs: int, legend: str) -> None:
        """Check and store the arguments every staged backbone takes (errors list the valid values).

        ``num_outputs`` is how many out indices exist; ``legend`` says what they are, e.g.
        ``'0-3: stages at strides 4/8/16/32, 4: final 1x1 conv'``.
        """
        if stem_stride not in (1, 2):
            raise ValueError(f'invalid stem_stride {stem_stride!r}; valid: 1 (small images), 2 (paper)')
        out_indices = tuple(out_indices)
        if not out_indices or not all(isinstance(i, int) and 0 <= i < num_outputs for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty sequence of ints in [0, {num_outputs - 1}] '
                             f'({legend}), got {out_indices}')
        if not -1 <= frozen_stages <= num_outputs:
            raise ValueError(f'frozen_stages must lie in [-1, {num_outputs}], got {frozen_stages}')
        self.out_indices, self.frozen_stages, self.norm_eval = out_indices, frozen_stages, norm_eval
        self.stem_stride = stem_stride
        self.deployed = False

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
