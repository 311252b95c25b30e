"""The bi-level DARTS search step: an architecture step on the architecture split, then a weight
step on the weight split, with first-order, second-order (unrolled) or amended architecture
gradients.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/train_search.py``,
``cnn/architect.py``).
PC-DARTS (arXiv:1907.05737, https://github.com/yuhuixu1993/PC-DARTS ``train_search.py``) and P-DARTS
(arXiv:1904.12760, https://github.com/chenxin061/pdarts ``train_search.py``) use the same step with
first-order gradients and architecture updates only after warm-up epochs.
Amended gradient: "Stabilizing DARTS with Amended Gradient Estimation on Architectural
Parameters", Bi, Hu, Xie, Chen, Wei and Tian, arXiv:1910.11831 (no official code was released).

Notation: ``w`` the weights, ``a`` the architecture parameters, ``L_t`` the loss on a batch of the
weight split, ``L_v`` the loss on a batch of the architecture split, ``eta`` the current learning
rate of the weight optimizer, ``r = 0.01`` (official ``_hessian_vector_product(r=1e-2)``).

- ``first_order``: ``g = dL_v/da (w, a)``.
- ``second_order`` (official ``Architect._backward_step_unrolled``): one virtual step of the
  weight optimizer (SGD: ``w' = w - eta * (mu * momentum_buffer + dL_t/dw + wd * w)``), then
  ``g = dL_v/da (w', a) - eta * d2L_t/(da dw) . v`` with ``v = dL_v/dw' (w', a)``, the mixed
  second derivative applied to ``v`` by central differences:
  ``(dL_t/da (w + R v) - dL_t/da (w - R v)) / (2 R)``, ``R = r / ||v||``. This is the exact
  derivative ``d/da L_v(w'(a), a)`` up to the finite-difference error.
- ``amended`` (Amended-DARTS, section 3): the true gradient at the optimum ``w*`` of ``L_t`` is
  ``dL_v/da - d2L_t/(da dw) . H^-1 . dL_v/dw`` (``H = d2L_t/dw2``); DARTS replaces ``H^-1`` by
  ``eta I``, the amended estimate replaces it by ``H`` (same eigenvectors, positive definite at a
  minimum, so the estimate keeps an acute angle with the true second term):
  ``g = dL_v/da (w, a) - c * d2L_t/(da dw) . H . dL_v/dw (w, a)`` at the current weights ``w``,
  both products by central differences (``u = H v ~ (dL_t/dw (w + R1 v) - dL_t/dw (w - R1 v)) /
  (2 R1)``, ``R1 = r / ||v||``, then the mixed product of ``u`` as above), ``c`` the amending
  coefficient.

Every virtual forward pass of the second-order and amended gradients runs with copies of the
BatchNorm buffers (the running statistics of the supernet move only with the real forward passes),
and the two passes of a central difference share one random state (same dropout masks).
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from tessera_core.models import ImageClassifier
from torch import nn
from torch.func import functional_call

from tessera_nas.registry import MODELS

__all__ = ['ARCH_GRADIENTS', 'DARTSSearchClassifier']

ARCH_GRADIENTS = ('first_order', 'second_order', 'amended')


@contextmanager
def _same_randomness(device: torch.device) -> Iterator:
    """Yield a function that rewinds the random generators (CPU and ``device``) to the state they
    had when the context was entered."""
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state(device) if device.type == 'cuda' else None

    def rewind():
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, device)

    yield rewind


@MODELS.register_module()
class DARTSSearchClassifier(ImageClassifier):
    """An :class:`ImageClassifier` over a DARTS supernet backbone, trained by the bi-level search.

    ``train_step`` takes a batch of :class:`~tessera_nas.datasets.SearchSplitDataset`
    (``dict(weights=..., arch=...)``) and an ``OptimWrapperDict`` with the keys ``'weights'`` and
    ``'architecture'`` (see :class:`~tessera_nas.engine.DARTSOptimWrapperConstructor`), and does
    the architecture step on the ``arch`` batch (skipped during warm-up) then the weight step on the
    ``weights`` batch (official order). Clipping and the update rules are those of the two optimizer
    wrappers (official: weight gradients clipped to norm 5). Validation and test are ordinary
    classification.

    Args:
        backbone (dict): A supernet with ``arch_parameters()`` and ``weight_parameters()``
            (e.g. ``DARTSSearchBackbone``).
        head, neck, data_preprocessor, init_cfg: As :class:`ImageClassifier`.
        arch_gradient (str): ``'first_order'``, ``'second_order'`` or ``'amended'``.
        warmup_epochs (int): Epochs with weight steps only (PC-DARTS: 15; P-DARTS: 10 per stage).
            The epoch is read from mmengine's message hub minus :attr:`epoch_offset` (set by
            :class:`~tessera_nas.engine.ProgressiveSearchLoop` at each stage).
        finite_difference_r (float): ``r`` of the central differences (official 0.01).
        amended_coefficient (float): ``c`` of the amended gradient.

    Shapes: inputs (N, C, H, W) as the backbone expects.
    """
    registry = MODELS

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None, arch_gradient: str = 'first_order',
                 warmup_epochs: int = 0, finite_difference_r: float = 0.01, amended_coefficient: float = 0.1):
        if arch_gradient not in ARCH_GRADIENTS:
            raise ValueError(f'unknown arch_gradient {arch_gradient!r}; valid: {list(ARCH_GRADIENTS)}')
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f'warmup_epochs must be an int >= 0, got {warmup_epochs!r}')
        if not finite_difference_r > 0:
            raise ValueError(f'finite_difference_r must be > 0, got {finite_difference_r}')
        if not amended_coefficient >= 0:
            raise ValueError(f'amended_coefficient must be >= 0, got {amended_coefficient}')
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        for method in ('arch_parameters', 'weight_parameters', 'genotype'):
            if not callable(getattr(self.backbone, method, None)):
                raise TypeError(f'DARTSSearchClassifier needs a supernet backbone with {method}() '
                                f'(e.g. DARTSSearchBackbone); got {type(self.backbone).__name__}')
        self.arch_gradient = arch_gradient
        self.warmup_epochs = warmup_epochs
        self.finite_difference_r = float(finite_difference_r)
        self.amended_coefficient = float(amended_coefficient)
        self.epoch_offset = 0

    # --------------------------------------------------------------------------------- helpers
    def arch_parameters(self) -> List[nn.Parameter]:
        """The backbone's architecture parameters."""
        return list(self.backbone.arch_parameters())

    def in_warmup(self) -> bool:
        """True while the current epoch (message hub ``epoch`` minus :attr:`epoch_offset`) is below
        ``warmup_epochs``."""
        epoch = MessageHub.get_current_instance().get_info('epoch', 0) or 0
        return epoch - self.epoch_offset < self.warmup_epochs

    def batch_loss(self, batch: dict, weights: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """The summed head losses of a preprocessed batch ``dict(inputs, data_samples)``.

        Args:
            batch (dict): Output of the data preprocessor.
            weights (dict, optional): Parameter name -> tensor replacing those parameters (a
                virtual weight point); the forward then runs on copies of the buffers.

        Returns:
            Tensor: scalar loss.
        """
        if weights is None:
            losses = self(batch['inputs'], batch['data_samples'], mode='loss')
        else:
            state = dict(weights)
            state.update({name: buf.clone() for name, buf in self.named_buffers()})
            losses = functional_call(self, state, (batch['inputs'], batch['data_samples']), dict(mode='loss'),
                                     strict=False)
        loss, _ = self.parse_losses(losses)
        return loss

    def _weight_point(self, weight_optimizer: torch.optim.Optimizer
                      ) -> Tuple[List[str], List[nn.Parameter], List[dict]]:
        """Names, parameters and optimizer groups of the weights updated by ``weight_optimizer``."""
        names = {id(p): n for n, p in self.named_parameters()}
        out_names, params, groups = [], [], []
        for group in weight_optimizer.param_groups:
            for p in group['params']:
                if id(p) not in names:
                    raise ValueError('the weights optimizer holds a parameter that is not in the model')
                out_names.append(names[id(p)])
                params.append(p)
                groups.append(group)
        return out_names, params, groups

    def _grads_at(self, batch: dict, names: Sequence[str], point: Sequence[torch.Tensor],
                  wrt_weights: bool) -> Tuple[torch.Tensor, ...]:
        """Gradient of the loss at the weight point ``point`` w.r.t. the architecture parameters or,
        with ``wrt_weights``, w.r.t. the weights."""
        leaves = [t.detach().requires_grad_(wrt_weights) for t in point]
        loss = self.batch_loss(batch, dict(zip(names, leaves)))
        return torch.autograd.grad(loss, leaves if wrt_weights else self.arch_parameters())

    def _central_difference(self, batch: dict, names: Sequence[str], params: Sequence[torch.Tensor],
                            vector: Sequence[torch.Tensor], wrt_weights: bool) -> List[torch.Tensor]:
        """``(grad L(w + R v) - grad L(w - R v)) / (2 R)`` with ``R = r / ||v||``: the product of the
        Hessian block ``d2L/(d? dw)`` with ``v`` (``?`` = weights or architecture)."""
        targets = params if wrt_weights else self.arch_parameters()
        norm = torch.sqrt(sum((v.double() ** 2).sum() for v in vector))
        if norm == 0:
            return [torch.zeros_like(t) for t in targets]
        radius = self.finite_difference_r / norm.item()
        with _same_randomness(params[0].device) as rewind:
            plus = self._grads_at(batch, names, [p + radius * v for p, v in zip(params, vector)], wrt_weights)
            rewind()
            minus = self._grads_at(batch, names, [p - radius * v for p, v in zip(params, vector)], wrt_weights)
        return [(a - b) / (2 * radius) for a, b in zip(plus, minus)]

    # ------------------------------------------------------------------------ arch gradients
    def first_order_gradient(self, arch_batch: dict) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """``dL_v/da`` at the current weights (a real forward pass, as official ``_backward_step``);
        returns ``(gradients, L_v(w))``."""
        loss = self.batch_loss(arch_batch)
        return list(torch.autograd.grad(loss, self.arch_parameters())), loss.detach()

    def unrolled_weights(self, weight_batch: dict, weight_optimizer: torch.optim.Optimizer) -> Dict[str, torch.Tensor]:
        """The weights after one virtual step of the SGD weight optimizer (official
        ``_compute_unrolled_model``), detached: ``w - lr * (momentum * buffer + dL_t/dw + wd * w)``.

        Raises:
            ValueError: the optimizer is not plain SGD (momentum, no dampening, no Nesterov).
        """
        names, params, groups = self._weight_point(weight_optimizer)
        for group in groups:
            if 'momentum' not in group or group.get('nesterov', False) or group.get('dampening', 0):
                raise ValueError('second-order DARTS unrolls an SGD step (momentum, weight_decay; no Nesterov, '
                                 f'no dampening); the weights optimizer is {type(weight_optimizer).__name__} '
                                 f'with {({k: v for k, v in group.items() if k != "params"})}')
        grads = self._grads_at(weight_batch, names, params, wrt_weights=True)
        unrolled = {}
        for name, p, g, group in zip(names, params, grads, groups):
            step = g + group['weight_decay'] * p.detach()
            buf = weight_optimizer.state.get(p, {}).get('momentum_buffer')
            if buf is not None and group['momentum']:
                step = step + group['momentum'] * buf
            unrolled[name] = (p.detach() - group['lr'] * step).detach()
        return unrolled

    def second_order_gradient(self, weight_batch: dict, arch_batch: dict,
                              weight_optimizer: torch.optim.Optimizer) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """The DARTS unrolled gradient (see the module docstring); returns ``(gradients, L_v(w'))``."""
        names, params, groups = self._weight_point(weight_optimizer)
        unrolled = self.unrolled_weights(weight_batch, weight_optimizer)
        leaves = [unrolled[n].requires_grad_(True) for n in names]
        loss = self.batch_loss(arch_batch, dict(zip(names, leaves)))
        arch = self.arch_parameters()
        grads = torch.autograd.grad(loss, arch + leaves)
        d_arch, v = grads[:len(arch)], grads[len(arch):]
        # eta * v per parameter (the official single eta when every group has the same lr)
        scaled = [group['lr'] * g for g, group in zip(v, groups)]
        mixed = self._central_difference(weight_batch, names, params, scaled, wrt_weights=False)
        return [da - m for da, m in zip(d_arch, mixed)], loss.detach()

    def amended_gradient(self, weight_batch: dict, arch_batch: dict,
                         weight_optimizer: torch.optim.Optimizer) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """The Amended-DARTS gradient (see the module docstring); returns ``(gradients, L_v(w))``."""
        names, params, _ = self._weight_point(weight_optimizer)
        leaves = [p.detach().requires_grad_(True) for p in params]
        loss = self.batch_loss(arch_batch, dict(zip(names, leaves)))
        arch = self.arch_parameters()
        grads = torch.autograd.grad(loss, arch + leaves)
        d_arch, v = grads[:len(arch)], grads[len(arch):]
        hv = self._central_difference(weight_batch, names, params, v, wrt_weights=True)
        mixed = self._central_difference(weight_batch, names, params, hv, wrt_weights=False)
        return [da - self.amended_coefficient * m for da, m in zip(d_arch, mixed)], loss.detach()

    def architecture_gradient(self, weight_batch: dict, arch_batch: dict,
                              weight_optimizer: torch.optim.Optimizer) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """The configured architecture gradient and the architecture-split loss it saw."""
        if self.arch_gradient == 'first_order':
            return self.first_order_gradient(arch_batch)
        if self.arch_gradient == 'second_order':
            return self.second_order_gradient(weight_batch, arch_batch, weight_optimizer)
        return self.amended_gradient(weight_batch, arch_batch, weight_optimizer)

    # ------------------------------------------------------------------------------ train step
    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One search iteration: architecture step (unless warm-up), then weight step.

        Args:
            data (dict): ``dict(weights=dict(inputs, data_samples), arch=dict(inputs, data_samples))``
                from a :class:`~tessera_nas.datasets.SearchSplitDataset` dataloader.
            optim_wrapper (OptimWrapperDict): With keys ``'weights'`` and ``'architecture'``.

        Returns:
            dict: log variables (``loss``, the head losses, and ``loss_arch`` / ``arch_grad_norm``
            on iterations with an architecture step).
        """
        if not isinstance(data, dict) or sorted(data) != ['arch', 'weights']:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f'DARTSSearchClassifier.train_step needs dict(weights=..., arch=...) batches '
                             f'(a SearchSplitDataset train set), got {keys}')
        is_dict = isinstance(optim_wrapper, OptimWrapperDict)
        if not is_dict or sorted(optim_wrapper.keys()) != ['architecture', 'weights']:
            keys = sorted(optim_wrapper.keys()) if is_dict else type(optim_wrapper).__name__
            raise ValueError("DARTSSearchClassifier.train_step needs an OptimWrapperDict with keys 'weights' and "
                             f"'architecture' (optim_wrapper.constructor='DARTSOptimWrapperConstructor'), got {keys}")
        weight_wrapper: OptimWrapper = optim_wrapper['weights']
        arch_wrapper: OptimWrapper = optim_wrapper['architecture']
        weight_batch = self.data_preprocessor(data['weights'], True)
        arch_batch = self.data_preprocessor(data['arch'], True)
        log_vars = {}
        arch = self.arch_parameters()
        if not self.in_warmup():
            arch_wrapper.zero_grad()
            grads, arch_loss = self.architecture_gradient(weight_batch, arch_batch, weight_wrapper.optimizer)
            for p, g in zip(arch, grads):
                p.grad = g.detach()
            log_vars['loss_arch'] = arch_loss
            log_vars['arch_grad_norm'] = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads))
            arch_wrapper.step()
            arch_wrapper.zero_grad()

        flags = [p.requires_grad for p in arch]
        for p in arch:  # the weight loss must not leave gradients on the architecture
            p.requires_grad_(False)
        try:
            with weight_wrapper.optim_context(self):
                losses = self._run_forward(weight_batch, mode='loss')
            parsed, weight_log = self.parse_losses(losses)
            weight_wrapper.update_params(parsed)
        finally:
            for p, flag in zip(arch, flags):
                p.requires_grad_(flag)
        weight_log.update(log_vars)
        return weight_log
