"""Norm decay: a regularizer on the exact l1 / l-infinity operator norms of conv and linear layers.

Paper: "Large Norms of CNN Layers Do Not Hurt Adversarial Robustness", Youwei Liang and Dong Huang,
AAAI 2021, arXiv:2009.08435. Official code: https://github.com/youweiliang/norm_robustness
(``lip/add_lip.py``: ``bind_lip`` and ``add_lip_grad``, called between ``loss.backward()`` and
``optimizer.step()`` in ``train_nd.py`` / ``train_nd_inf.py``).

Why a hook on the optimizer step, not a loss term: the official algorithm is not the gradient of a
loss. Before every parameter update it adds ``beta * G`` to each regularised weight's gradient,
where ``G`` is a momentum buffer of the norm's subgradient with an *overwrite* rule::

    G <- mmt * G;   G[support] <- sign(W[support])

(``support`` = the entries of the column (l1) or row (l-inf) of the layer's matrix that attains the
norm). A loss term would give the plain subgradient only, and mmengine hooks cannot reach the loss
anyway (``train_step`` runs forward, backward and step in one call). The idiomatic insertion point
between backward and step is torch's public ``Optimizer.register_step_pre_hook``: this hook installs
one on ``runner.optim_wrapper``'s optimizer(s) in ``before_train``. It therefore runs after gradient
accumulation, after mmengine's gradient clipping, and with ``AmpOptimWrapper`` on unscaled gradients
(``GradScaler.step`` unscales before calling ``optimizer.step``); skipped AMP steps skip it too.

Conv norms depend on the input size (border pixels are touched by fewer kernel entries): like the
official forward wrapper, a forward pre-hook records each conv's last input size and the norm is
the exact one for that size (:func:`tessera_core.analysis.conv_operator_norms.module_operator_norm`).
Official defaults: ``mmt = 0.5``; conv and linear layers regularised, batch norms not; the paper's
sweep ``beta in {1e-5, 1e-4, 1e-3, 1e-2, 1e-1}`` (the README's example uses 1e-3) with weight decay
off. Biases are not part of the operator and are not touched. The momentum buffers live in the
hook, not in checkpoints (as in the official code): a resumed run restarts them at zero.
"""
from functools import partial
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

from tessera_core.analysis.conv_operator_norms import NORMS, module_operator_norm
from tessera_core.registry import HOOKS


@HOOKS.register_module()
class NormDecayHook(Hook):
    """Adds ``coeff * G`` (momentum of the norms' subgradients) to the weight gradients of every
    ``nn.Conv2d`` (zero padding) and ``nn.Linear`` before each optimizer step.

    Args:
        norm (str): ``'l1'`` or ``'linf'``, the operator norm to decay.
        coeff (float): ``beta``, the step added to the gradients (0 only records the norms).
        momentum (float): ``mmt`` in [0, 1), decay of the subgradient buffer (official 0.5).
        conv (bool): Regularise conv layers.
        linear (bool): Regularise linear layers.
        log_norms (bool): Write ``train/op_norm_sum`` and ``train/op_norm_max`` (over the regularised
            layers, before the update) to the message hub, so the logger prints them.

    Conv layers with a non-zero padding mode (reflect, circular...) are skipped with a warning.
    """
    priority = 'NORMAL'

    def __init__(self, norm: str = 'l1', coeff: float = 1e-3, momentum: float = 0.5, conv: bool = True,
                 linear: bool = True, log_norms: bool = True):
        if norm not in NORMS:
            raise ValueError(f'unknown norm {norm!r}; valid: {NORMS}')
        if coeff < 0:
            raise ValueError(f'coeff must be >= 0, got {coeff}')
        if not 0 <= momentum < 1:
            raise ValueError(f'momentum must lie in [0, 1), got {momentum}')
        if not (conv or linear):
            raise ValueError('conv=False and linear=False leave nothing to regularise')
        self.norm, self.coeff, self.momentum = norm, coeff, momentum
        self.conv, self.linear, self.log_norms = conv, linear, log_norms
        self.layers: Dict[str, nn.Module] = {}
        self.input_sizes: Dict[str, Tuple[int, int]] = {}
        self.buffers: Dict[str, torch.Tensor] = {}
        self.last_norms: Dict[str, float] = {}
        self._handles: List = []
        self._message_hub = None

    # ------------------------------------------------------------------ mmengine entry points
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        self.register(model, [w.optimizer for w in wrappers], message_hub=runner.message_hub)

    def after_train(self, runner) -> None:
        self.remove()

    # ------------------------------------------------------------------ plain-PyTorch API
    def register(self, model: nn.Module, optimizers: List[torch.optim.Optimizer], message_hub=None) -> None:
        """Find the layers of ``model``, record conv input sizes, and hook the optimizers' steps."""
        self.remove()
        self._message_hub = message_hub
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d) and self.conv:
                if module.padding_mode != 'zeros':
                    print_log(f'NormDecayHook: skip {name} (padding_mode={module.padding_mode!r}, not a '
                              'zero-padded convolution)', logger='current', level=30)
                    continue
                self.layers[name] = module
                self._handles.append(module.register_forward_pre_hook(partial(self._record_size, name)))
            elif isinstance(module, nn.Linear) and self.linear:
                self.layers[name] = module
        if not self.layers:
            raise ValueError(f'NormDecayHook found no nn.Conv2d / nn.Linear layer in {type(model).__name__}')
        for optimizer in optimizers:
            owned = {id(p) for group in optimizer.param_groups for p in group['params']}
            names = [n for n, m in self.layers.items() if id(m.weight) in owned]
            if names:
                self._handles.append(optimizer.register_step_pre_hook(partial(self._before_step, names)))

    def remove(self) -> None:
        """Detach every hook installed by :meth:`register` and forget the layers."""
        for handle in self._handles:
            handle.remove()
        self._handles, self.layers, self.input_sizes, self.buffers = [], {}, {}, {}

    def _record_size(self, name: str, module: nn.Module, args) -> None:
        self.input_sizes[name] = tuple(args[0].shape[-2:])

    def _before_step(self, names: List[str], optimizer, args, kwargs) -> None:
        self.apply(names)

    def layer_norm(self, name: str, weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Operator norm of layer ``name`` (at its last recorded input size for convs)."""
        module = self.layers[name]
        return module_operator_norm(module, self.norm, self.input_sizes.get(name), weight=weight)

    def apply(self, names: Optional[List[str]] = None) -> Dict[str, float]:
        """One norm-decay update of the gradients of ``names`` (default: every layer).

        Layers whose weight has no gradient (frozen or unused) and convs that never ran forward are
        skipped. Returns the norms before the update, ``{layer name: norm}``.
        """
        norms = {}
        for name in self.layers if names is None else names:
            module = self.layers[name]
            weight = module.weight
            if weight.grad is None or (isinstance(module, nn.Conv2d) and name not in self.input_sizes):
                continue
            with torch.enable_grad():
                # the norm depends on |W| only: its gradient w.r.t. |W| marks the maximising entries
                absw = weight.detach().abs().requires_grad_(True)
                value = self.layer_norm(name, absw)
                (marks,) = torch.autograd.grad(value, absw)
            norms[name] = value.item()
            buf = self.buffers.get(name)
            if buf is None:
                buf = self.buffers[name] = torch.zeros_like(weight, memory_format=torch.preserve_format)
            support = marks > 0
            buf.mul_(self.momentum)
            buf[support] = weight.detach().sign()[support]
            if self.coeff:
                weight.grad.add_(buf, alpha=self.coeff)
        self.last_norms.update(norms)
        if self.log_norms and self._message_hub is not None and norms:
            values = list(norms.values())
            self._message_hub.update_scalar('train/op_norm_sum', sum(values))
            self._message_hub.update_scalar('train/op_norm_max', max(values))
        return norms
