"""The GOLD-NAS one-level search step: architecture and weights updated together on one batch.

GOLD-NAS: Gradual, One-Level, Differentiable, Bi, Xie, Chen, Wei and Tian, arXiv:2007.03331 (2020).
No official code was released.

One-level optimisation (paper, section 3.3): unlike DARTS' bi-level step (architecture on a
held-out split, weights on the training split), GOLD-NAS minimises one objective on the training
data for both the network weights ``w`` and the architecture ``alpha``::

    L(w, alpha) = CE(w, alpha; batch) + lambda * R(alpha)                          (3)

(``R`` the resource term of :class:`~tessera_nas.models.search.GoldNASSupernet`, eq. 2). One
forward and one backward pass on a batch give both gradients; the weight optimizer and the
architecture optimizer then step. ``lambda`` is not a hyper-parameter of the step: it is the
variable constraint that :class:`~tessera_nas.engine.GoldNASPruningHook` adapts between pruning
steps (stored here as the buffer :attr:`resource_lambda`, so it is in the checkpoint).
"""
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapperDict
from tessera_core.models import ImageClassifier

from tessera_nas.registry import MODELS

__all__ = ['GoldNASClassifier']


@MODELS.register_module()
class GoldNASClassifier(ImageClassifier):
    """An :class:`ImageClassifier` over a :class:`GoldNASSupernet`, trained by the one-level step.

    ``train_step`` takes an ordinary classification batch and an ``OptimWrapperDict`` with the keys
    ``'weights'`` and ``'architecture'`` (:class:`~tessera_nas.engine.DARTSOptimWrapperConstructor`).

    Args:
        backbone (dict): A supernet with ``resource_penalty()`` and ``arch_parameters()``.
        head, neck, data_preprocessor, init_cfg: As :class:`ImageClassifier`.
        resource_lambda (float): Initial ``lambda`` (paper: 0; the pruning hook raises it).

    Shapes: inputs (N, C, H, W) as the backbone expects.
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None, resource_lambda: float = 0.0):
        if not resource_lambda >= 0:
            raise ValueError(f'resource_lambda must be >= 0, got {resource_lambda}')
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        for method in ('arch_parameters', 'resource_penalty'):
            if not callable(getattr(self.backbone, method, None)):
                raise TypeError(f'GoldNASClassifier needs a supernet backbone with {method}() '
                                f'(e.g. GoldNASSupernet); got {type(self.backbone).__name__}')
        self.register_buffer('resource_lambda', torch.tensor(float(resource_lambda), dtype=torch.float64))

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One one-level iteration on ``data``: loss (3), one backward, both optimizers step.

        Returns:
            dict: ``loss`` (eq. 3), the head losses (``loss_cls``: CE), ``loss_resource``
            (``lambda * R``), ``resource`` (``R``) and ``lambda``.
        """
        is_dict = isinstance(optim_wrapper, OptimWrapperDict)
        if not is_dict or sorted(optim_wrapper.keys()) != ['architecture', 'weights']:
            keys = sorted(optim_wrapper.keys()) if is_dict else type(optim_wrapper).__name__
            raise ValueError("GoldNASClassifier.train_step needs an OptimWrapperDict with keys 'weights' and "
                             f"'architecture' (optim_wrapper.constructor='DARTSOptimWrapperConstructor'), got {keys}")
        weights, arch = optim_wrapper['weights'], optim_wrapper['architecture']
        batch = self.data_preprocessor(data, True)
        losses = self._run_forward(batch, mode='loss')
        ce, log_vars = self.parse_losses(losses)
        penalty = self.backbone.resource_penalty()
        lam = float(self.resource_lambda)
        loss = ce + lam * penalty.to(ce.dtype)
        weights.zero_grad()
        arch.zero_grad()
        loss.backward()
        weights.step()  # clip_grad of the weights wrapper applies to the weights only
        arch.step()
        weights.zero_grad()
        arch.zero_grad()
        log_vars['loss_cls'] = ce.detach()
        log_vars['loss'] = loss.detach()
        log_vars['loss_resource'] = (lam * penalty).detach().to(ce.dtype)
        log_vars['resource'] = penalty.detach().to(ce.dtype)
        log_vars['lambda'] = torch.tensor(lam)
        return log_vars
