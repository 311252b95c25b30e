"""Domain discriminator (domain classifier) behind a gradient reversal layer, optionally with
GVB's discriminator-side bridge.

Used by GVB ("Gradually Vanishing Bridge for Adversarial Domain Adaptation", Cui et al., CVPR 2020,
arXiv:2003.13183; official ``AdversarialNetwork`` in https://github.com/cuishuhao/GVB
``GVB-GD/network.py``: GRL on the input, Linear-ReLU-Dropout(0.5) twice with 1,024 units, a
one-unit domain output and a one-unit bridge output, Kaiming-normal weights and zero biases) and by
SCAL (one fully-connected layer: ``hidden_dims=()``).
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_core.registry import MODELS

from .gradient_reversal import GradientReversalLayer


@MODELS.register_module()
class DomainDiscriminator(BaseModule):
    """x (N, in_channels) -> GRL -> [Linear -> ReLU -> Dropout] x len(hidden_dims) -> domain logit (N,).

    With ``with_bridge=True`` a second Linear on the last hidden layer gives the bridge ``b_d`` (N,)
    and :meth:`forward` returns ``(logit, bridge)``; GVB's domain probability is then
    ``sigmoid(logit - bridge)``.

    Args:
        in_channels (int): Input width.
        hidden_dims (Sequence[int]): Hidden widths; ``()`` is a single fully-connected layer.
        dropout (float): Dropout after each hidden ReLU.
        with_bridge (bool): Add the discriminator-side bridge output (GVB-D).
        grl (dict, optional): :class:`GradientReversalLayer` arguments; ``None`` means no reversal
            (for a discriminator trained by a separate optimiser).
    """

    def __init__(self, in_channels: int, hidden_dims: Sequence[int] = (1024, 1024), dropout: float = 0.5,
                 with_bridge: bool = False, grl: Optional[dict] = dict(),
                 init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', distribution='normal', bias=0.0)):
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or any(int(h) <= 0 for h in hidden_dims):
            raise ValueError(f'in_channels and hidden_dims must be positive, got {in_channels}, {tuple(hidden_dims)}')
        if with_bridge and not hidden_dims:
            raise ValueError('with_bridge needs at least one hidden layer (the bridge reads the last hidden layer)')
        self.grl = GradientReversalLayer(**grl) if grl is not None else nn.Identity()
        layers, width = [], in_channels
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.hidden = nn.Sequential(*layers)
        self.domain = nn.Linear(width, 1)
        self.bridge = nn.Linear(width, 1) if with_bridge else None

    @property
    def with_bridge(self) -> bool:
        return self.bridge is not None

    @property
    def coeff(self) -> float:
        """Current gradient-reversal coefficient (1.0 without a GRL: no reversal is applied then)."""
        return self.grl.coeff if isinstance(self.grl, GradientReversalLayer) else 1.0

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        if x.dim() != 2:
            raise ValueError(f'expected (batch, features) input, got shape {tuple(x.shape)}')
        h = self.hidden(self.grl(x))
        logit = self.domain(h).squeeze(1)
        if self.bridge is None:
            return logit
        return logit, self.bridge(h).squeeze(1)
