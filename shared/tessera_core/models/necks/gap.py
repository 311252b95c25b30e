"""Global average pooling neck."""
from typing import Tuple

import torch
from torch import nn

from tessera_core.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Pools every (N, C, H, W) feature map of a tuple into (N, C)."""

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, ...]:
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs,)
        return tuple(x.mean(dim=(2, 3)) if x.dim() == 4 else x for x in inputs)
