"""C-GhostNet: the CPU-oriented GhostNet of the IJCV paper, which is core's :class:`GhostNet`.

GhostNets on Heterogeneous Devices via Cheap Operations, Han et al., IJCV 2022, arXiv:2201.03297.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (ghostnet_pytorch).

The IJCV paper extends the CVPR 2020 GhostNet paper (arXiv:1911.11907): it renames
the Ghost module / Ghost bottleneck / GhostNet "C-Ghost module", "C-Ghost bottleneck"
and "C-GhostNet" (CPU-efficient) to set them apart from its new GPU-efficient
G-Ghost stage (:class:`~tessera_core.models.backbones.GGhostRegNet`). The C-GhostNet
architecture table (MobileNetV3-Large layout of C-Ghost bottlenecks, widths 0.5x /
1.0x / 1.3x) is the CVPR one, and the official repository has one implementation
for both, ``ghostnet_pytorch/ghostnet.py`` (unchanged since 2020; the IJCV paper's
code adds only ``g_ghost_pytorch``). So ``dict(type='CGhostNet', ...)`` builds
exactly :class:`GhostNet` (same class, same arguments, same state dict): C-GhostNet
1.0x has 5,182,508 parameters with its 1000-class head (5.2M in the paper).
"""
from tessera_core.registry import MODELS

from .ghostnet import GhostNet

CGhostNet = GhostNet
MODELS.register_module(name='CGhostNet', module=GhostNet)

__all__ = ['CGhostNet']
