"""ABS search: a model whose convolutions are super-bit and whose residual blocks carry 0-bit gates,
trained with the cross-entropy plus a BOPs term (arXiv:2101.04935; official ``super_compress_gate_trainer``).

Objective. ``L = L_task + L_bops`` with the BOPs of the gated network

    R = sum_l  M_l * c_in,l * c_out,l * b_w,l * b_a,l,
    b_l = b_1 + g_1 (b_2 - b_1) + g_1 g_2 (b_3 - b_2) + ...         (open gates add their offset)

(``M_l`` the MACs per channel pair; ``c_out`` of a gated block's first convolution and ``c_in`` of its
second are ``group_size * sum_j g_j``), differentiable through the straight-through gates. The official
trainer minimises ``lambda * log R``; with ``bops_budget=B`` the term is the hinge
``lambda * max(log R - log B, 0)``: it pushes until the network fits the budget and then leaves the
gates to the task loss (``bops_budget=None`` is the official unconstrained form). As the official
trainer, even iterations train the weight-gate thresholds (the activation widths fixed in ``R``) and odd
iterations the activation-gate thresholds; after each step the quantization thresholds are clamped to
``>= 0`` and the pruning thresholds to the maximum pruning ratio.

Counted: the super-bit convolutions (the residual stages); layers kept full precision (stem conv,
classifier) are FLOPs, as in :func:`tessera_compression.analysis.count_operations`.
"""
import math
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmcv.cnn.bricks import wrappers as mmcv_wrappers
from mmengine.model import BaseModel
from torch import nn

from tessera_compression.registry import MODELS

from ..converter import _kept_names
from .super_bit_conv import FilterGate, SuperBitConv2d
from .super_bit_quantizer import DEFAULT_BITS_LIST, SuperBitQuantizer, check_bits_list

__all__ = ['ABSSuperNet']

_CONVS = (nn.Conv2d, mmcv_wrappers.Conv2d)


@MODELS.register_module()
class ABSSuperNet(BaseModel):
    """The super-bit network of an ABS search.

    Args:
        model (dict | nn.Module): Any registered mmengine model (e.g. an ``ImageClassifier``).
        weight_bits_list, act_bits_list (Sequence[int]): Candidate widths (paper: 2, 4, 8); a single width
            fixes it (``[4]`` with ``prune=True`` is pruning only).
        keep_full_precision (Sequence[str]): Modules left full precision (names or patterns).
        prune (bool): Add the filter-wise 0-bit gates to every block with ``conv1`` / ``bn1`` / ``conv2``.
        group_size (int): Filters per pruning gate (1: filter-wise).
        max_pruning_ratio (float): Largest fraction of a block's filters the gates may prune.
        bops_weight (float): ``lambda`` of the BOPs term.
        bops_budget (float, optional): Target BOPs per sample (hinge); None: ``lambda * log R``.
        input_shape (Sequence[int]): (C, H, W) of one sample, for the sizes the BOPs need.
        alternate_gates (bool): Alternate weight / activation thresholds between iterations (official).
    """

    def __init__(self, model: Union[dict, nn.Module], weight_bits_list: Sequence[int] = DEFAULT_BITS_LIST,
                 act_bits_list: Sequence[int] = DEFAULT_BITS_LIST,
                 keep_full_precision: Sequence[str] = ('backbone.stem.0', 'head.fc'), prune: bool = True,
                 group_size: int = 1, max_pruning_ratio: float = 0.5, bops_weight: float = 1.0,
                 bops_budget: Optional[float] = None, input_shape: Sequence[int] = (1, 28, 28),
                 alternate_gates: bool = True, init_cfg: Optional[dict] = None):
        inner = MODELS.build(model) if isinstance(model, dict) else model
        if not isinstance(inner, BaseModel):
            raise TypeError(f'ABSSuperNet wraps an mmengine BaseModel, got {type(inner).__name__}')
        super().__init__(data_preprocessor=inner.data_preprocessor, init_cfg=init_cfg)
        self.weight_bits_list = check_bits_list(weight_bits_list)
        self.act_bits_list = check_bits_list(act_bits_list)
        kept = _kept_names(inner, keep_full_precision)
        self.super_convs: List[str] = []
        for name, module in list(inner.named_modules()):
            if name and type(module) in _CONVS and name not in kept:
                parent_name, _, child = name.rpartition('.')
                parent = inner.get_submodule(parent_name) if parent_name else inner
                setattr(parent, child, SuperBitConv2d.from_float(module, self.weight_bits_list, self.act_bits_list))
                self.super_convs.append(name)
        if not self.super_convs:
            raise ValueError('ABSSuperNet found no convolution to make super-bit (all kept full precision?)')
        self.gated_blocks: List[str] = []
        if prune:
            for name, module in list(inner.named_modules()):
                conv1, bn1, conv2 = (getattr(module, a, None) for a in ('conv1', 'bn1', 'conv2'))
                if (isinstance(conv1, SuperBitConv2d) and isinstance(conv2, SuperBitConv2d)
                        and isinstance(bn1, nn.BatchNorm2d) and not hasattr(module, 'conv3')):
                    module.bn1 = FilterGate(bn1, conv1, group_size, max_pruning_ratio)
                    self.gated_blocks.append(name)
            if not self.gated_blocks:
                raise ValueError('prune=True but the model has no residual block with conv1 / bn1 / conv2')
        self.model = inner
        self.bops_weight = float(bops_weight)
        self.input_shape = tuple(input_shape)
        self.alternate_gates = bool(alternate_gates)
        self.register_buffer('search_iter', torch.tensor(0, dtype=torch.long))
        self._record_sizes()
        self.max_bops = self.bops_bounds('max')
        self.min_bops = self.bops_bounds('min')
        if bops_budget is not None:
            if not isinstance(bops_budget, (int, float)) or isinstance(bops_budget, bool) or bops_budget <= 0:
                raise ValueError(f'bops_budget={bops_budget!r} must be a positive number of BOPs per sample')
            if bops_budget < self.min_bops:
                raise ValueError(
                    f'bops_budget={bops_budget:.6g} is below the minimum this search space can reach: '
                    f'{self.min_bops} BOPs per sample (every quantization gate closed: weights '
                    f'{self.weight_bits_list[0]} bits, activations {self.act_bits_list[0]} bits'
                    + (f', every gated block pruned to max_pruning_ratio={max_pruning_ratio}' if prune else '')
                    + f'); give bops_budget >= {self.min_bops} (all gates open: {self.max_bops})')
        self.bops_budget = None if bops_budget is None else float(bops_budget)
        self.register_load_state_dict_pre_hook(self._map_unwrapped_keys)

    def _map_unwrapped_keys(self, module, state_dict, prefix, *args) -> None:
        """Load a checkpoint of the plain model (``load_from`` a full-precision run): its keys move under
        ``model.``, and a gated block's ``bn1.*`` under ``bn1.norm.*``."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if not own or any(k.startswith(prefix + 'model.') for k in own):
            return
        gated = tuple(f'{b}.bn1.' if b else 'bn1.' for b in self.gated_blocks)
        for key in own:
            rest = key[len(prefix):]
            for g in gated:
                if rest.startswith(g) and not rest.startswith(g + 'norm.') and not rest.endswith('.thresholds'):
                    rest = g + 'norm.' + rest[len(g):]
                    break
            state_dict[prefix + 'model.' + rest] = state_dict.pop(key)

    # ------------------------------------------------------------------ structure
    def conv(self, name: str) -> SuperBitConv2d:
        return self.model.get_submodule(name)

    def gate(self, block: str) -> FilterGate:
        return self.model.get_submodule(block).bn1

    def _pairs(self) -> Dict[str, tuple]:
        """``{conv name: (gate reducing its c_in or None, gate reducing its c_out or None)}``."""
        pairs = {name: [None, None] for name in self.super_convs}
        for block in self.gated_blocks:
            prefix = f'{block}.' if block else ''
            pairs[prefix + 'conv1'][1] = self.gate(block)
            pairs[prefix + 'conv2'][0] = self.gate(block)
        return {k: tuple(v) for k, v in pairs.items()}

    @torch.no_grad()
    def _record_sizes(self) -> None:
        training = self.training
        self.eval()
        x = torch.zeros((1,) + self.input_shape, device=next(self.parameters()).device)
        self.model(x, None, 'tensor')
        self.train(training)

    def bops_bounds(self, which: str) -> int:
        """BOPs per sample with every gate open (``'max'``) or closed as far as allowed (``'min'``)."""
        total = 0
        for name, (gin, gout) in self._pairs().items():
            conv = self.conv(name)

            def channels(gate, full):
                if gate is None or which == 'max':
                    return full
                return full - gate.max_pruned_groups * gate.group_size
            wb = self.weight_bits_list[-1 if which == 'max' else 0]
            ab = self.act_bits_list[-1 if which == 'max' else 0]
            total += (conv.macs_per_channel_pair * channels(gin, conv.in_channels)
                      * channels(gout, conv.out_channels) * wb * ab)
        return int(total)

    # ------------------------------------------------------------------ BOPs
    def current_bops(self, fix: Optional[str] = None) -> torch.Tensor:
        """``R`` of the last forward call, differentiable through the gates.

        Args:
            fix (str, optional): ``'act'`` detaches the activation widths (the weight-gate iteration),
                ``'weight'`` the weight widths.
        """
        total = 0
        for name, (gin, gout) in self._pairs().items():
            conv = self.conv(name)
            wb = conv.weight_quantizer.expected_bits()
            ab = conv.act_quantizer.expected_bits()
            if fix == 'act':
                ab = ab.detach()
            elif fix == 'weight':
                wb = wb.detach()
            cin = gin.kept_channels() if gin is not None else conv.in_channels
            cout = gout.kept_channels() if gout is not None else conv.out_channels
            total = total + conv.macs_per_channel_pair * cin * cout * wb * ab
        return total

    def bops_loss(self, bops: torch.Tensor) -> torch.Tensor:
        log_r = torch.log(bops)
        if self.bops_budget is None:
            return self.bops_weight * log_r
        return self.bops_weight * torch.relu(log_r - math.log(self.bops_budget))

    def _quantizers(self, kind: str) -> List[SuperBitQuantizer]:
        attr = 'weight_quantizer' if kind == 'weight' else 'act_quantizer'
        return [getattr(self.conv(n), attr) for n in self.super_convs]

    def _phase(self) -> Optional[str]:
        """``'weight'`` (even iterations) or ``'act'`` (odd) when alternating, else None."""
        if not self.alternate_gates:
            return None
        return 'weight' if int(self.search_iter) % 2 == 0 else 'act'

    # ------------------------------------------------------------------ mmengine interface
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode != 'loss':
            return self.model(inputs, data_samples, mode)
        losses = self.model(inputs, data_samples, 'loss')
        phase = self._phase()
        bops = self.current_bops(fix={'weight': 'act', 'act': 'weight'}.get(phase))
        losses['loss_bops'] = self.bops_loss(bops)
        losses['bops_ratio'] = (bops / self.max_bops).detach()
        return losses

    def train_step(self, data, optim_wrapper):
        phase = self._phase()
        for q in self._quantizers('weight'):
            q.thresholds.requires_grad_(phase in (None, 'weight'))
        for q in self._quantizers('act'):
            q.thresholds.requires_grad_(phase in (None, 'act'))
        log_vars = super().train_step(data, optim_wrapper)
        for q in self._quantizers('weight') + self._quantizers('act'):
            q.clamp_thresholds()
        for block in self.gated_blocks:
            self.gate(block).clamp_thresholds()
        self.search_iter += 1
        return log_vars

    # ------------------------------------------------------------------ what the gates selected
    @torch.no_grad()
    def selection(self) -> dict:
        """Widths and kept filters the current gates select (a forward pass on a zero input first).

        Returns:
            dict: ``bits`` (``{conv: [w_bits, a_bits]}``), ``kept`` (``{block: [kept filter indices]}``),
            ``channels`` (``{block: [kept, total]}``), ``histogram`` (``{'w2a4': count, ...}``),
            ``pruning_ratio`` (pruned / gated filters), ``bops`` (hard, per sample), ``max_bops``.
        """
        bits = {n: [self.conv(n).weight_quantizer.selected_bits(), self.conv(n).act_quantizer.selected_bits()]
                for n in self.super_convs}
        kept, channels = {}, {}
        pruned = total = 0
        for block in self.gated_blocks:
            mask = self.gate(block).channel_mask() > 0.5
            kept[block] = torch.nonzero(mask).flatten().tolist()
            channels[block] = [int(mask.sum()), mask.numel()]
            pruned += mask.numel() - int(mask.sum())
            total += mask.numel()
        histogram: Dict[str, int] = {}
        for w, a in bits.values():
            histogram[f'w{w}a{a}'] = histogram.get(f'w{w}a{a}', 0) + 1
        return dict(bits=bits, kept=kept, channels=channels, histogram=dict(sorted(histogram.items())),
                    pruning_ratio=pruned / total if total else 0.0, bops=self.hard_bops(bits, channels),
                    max_bops=self.max_bops, min_bops=self.min_bops)

    def hard_bops(self, bits: dict, channels: dict) -> int:
        """BOPs per sample of the network with widths ``bits`` and kept filters ``channels`` (``selection()``)."""
        gate_block = {id(self.gate(b)): b for b in self.gated_blocks}
        total = 0
        for name, (gin, gout) in self._pairs().items():
            conv = self.conv(name)
            cin = channels[gate_block[id(gin)]][0] if gin is not None else conv.in_channels
            cout = channels[gate_block[id(gout)]][0] if gout is not None else conv.out_channels
            total += conv.macs_per_channel_pair * cin * cout * bits[name][0] * bits[name][1]
        return int(total)
