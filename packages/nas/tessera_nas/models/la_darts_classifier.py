"""The LA-DARTS search step: DARTS' bi-level step with a differentiable latency loss on the
architecture.

Latency-Aware Differentiable Neural Architecture Search, Xu, Xie, Zhang, Chen, Shi, Tian and Xiong,
arXiv:2001.06392 (2020). No official code was released (searched GitHub: none).

The architecture objective of DARTS (the cross-entropy ``L_v`` on the architecture split) gets the
predicted latency of the relaxed cell, weighted by the balancing coefficient ``lambda``::

    L_arch(alpha) = L_v(w, alpha) + lambda * L_lat(alpha)                           (1)
    L_lat = LAT(P) / ref_ms            (form='linear')
    L_lat = log(LAT(P) / ref_ms)       (form='log')
    P = softmax(alpha) per edge,  LAT = the latency predictor (models/search/latency_predictor.py)

``ref_ms`` is the predictor's unit (the mean measured latency of its training cells), so ``lambda``
is unit-free: ``lambda = 0.1`` weighs a change of the latency by its mean like 0.1 nats of CE.
The weight step is DARTS' (the latency does not depend on the weights). The architecture gradient
is ``dL_v/dalpha`` of the configured estimator (first-order, second-order or amended, from
:class:`~tessera_nas.models.DARTSSearchClassifier`) plus ``lambda * dL_lat/dalpha``; with
``lambda = 0`` it is DARTS' gradient exactly (the latency term is not added at all).
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.optim import OptimWrapperDict

from tessera_nas.benchmarks import space
from tessera_nas.models.darts_search_classifier import DARTSSearchClassifier
from tessera_nas.models.search.latency_predictor import LatencyPredictor, fit_on_table
from tessera_nas.registry import MODELS

__all__ = ['LATENCY_FORMS', 'LADARTSClassifier', 'build_latency_predictor']

LATENCY_FORMS = ('linear', 'log')


def build_latency_predictor(cfg: Union[dict, LatencyPredictor]) -> Tuple[LatencyPredictor, Dict]:
    """A predictor module, or ``dict(hidden=..., holdout=..., split_seed=..., steps=..., lr=...,
    weight_decay=..., seed=..., table=<path or None>)`` fitted on the tabular benchmark."""
    if isinstance(cfg, LatencyPredictor):
        return cfg, {}
    if not isinstance(cfg, dict):
        raise TypeError(f'latency_predictor must be a dict or a LatencyPredictor, got {type(cfg).__name__}')
    cfg = dict(cfg)
    cfg.pop('type', None)
    allowed = {'hidden', 'holdout', 'split_seed', 'steps', 'lr', 'weight_decay', 'seed', 'table'}
    bad = sorted(set(cfg) - allowed)
    if bad:
        raise ValueError(f'latency_predictor has unknown key(s) {bad}; valid: {sorted(allowed)}')
    from tessera_nas.benchmarks import TabularBenchmark
    table = cfg.pop('table', None)
    return fit_on_table(TabularBenchmark.load(table), **cfg)


@MODELS.register_module()
class LADARTSClassifier(DARTSSearchClassifier):
    """:class:`DARTSSearchClassifier` with the latency loss (1) in the architecture step.

    Args:
        backbone (dict): A supernet whose ``arch_weights()`` is ``softmax(alpha)`` of shape (6, 5)
            over the tabular benchmark's ops (:class:`~tessera_nas.models.search.NB201DARTSSupernet`).
        latency_predictor (dict | LatencyPredictor): See :func:`build_latency_predictor`; fitted at
            construction (deterministic), frozen, kept in the checkpoint.
        latency_lambda (float): ``lambda`` of (1), >= 0.
        latency_form (str): ``'linear'`` or ``'log'``.
        head, neck, data_preprocessor, init_cfg, arch_gradient, warmup_epochs, finite_difference_r,
        amended_coefficient: As :class:`DARTSSearchClassifier`.
    """

    def __init__(self, backbone: dict, head: dict, latency_predictor: Union[dict, LatencyPredictor] = None,
                 latency_lambda: float = 0.0, latency_form: str = 'linear', **kwargs):
        if isinstance(latency_lambda, bool) or not isinstance(latency_lambda, (int, float)) \
                or not latency_lambda >= 0:
            raise ValueError(f'latency_lambda must be a number >= 0, got {latency_lambda!r}')
        if latency_form not in LATENCY_FORMS:
            raise ValueError(f'unknown latency_form {latency_form!r}; valid: {list(LATENCY_FORMS)}')
        super().__init__(backbone=backbone, head=head, **kwargs)
        if not callable(getattr(self.backbone, 'arch_weights', None)):
            raise TypeError(f'LADARTSClassifier needs a supernet backbone with arch_weights() (e.g. '
                            f'NB201DARTSSupernet); got {type(self.backbone).__name__}')
        predictor, report = build_latency_predictor(dict(hidden=(64, 64)) if latency_predictor is None
                                                    else latency_predictor)
        for p in predictor.parameters():
            p.requires_grad_(False)
        self.latency_predictor = predictor
        self.latency_report = report
        self.latency_lambda = float(latency_lambda)
        self.latency_form = latency_form
        self._latency_log: Dict[str, torch.Tensor] = {}

    def arch_probs(self) -> torch.Tensor:
        probs = self.backbone.arch_weights()
        shape = (len(space.EDGES), len(space.OPS))
        if tuple(probs.shape) != shape:
            raise ValueError(f'backbone.arch_weights() must have shape {shape} (edges x ops {list(space.OPS)}), '
                             f'got {tuple(probs.shape)}')
        return probs

    def expected_latency(self) -> torch.Tensor:
        """``LAT(softmax(alpha))`` in ms, differentiable in ``alpha``."""
        return self.latency_predictor(self.arch_probs())

    def latency_loss(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(L_lat, LAT)`` of eq. (1) (``L_lat`` unweighted)."""
        lat = self.expected_latency()
        ratio = lat / self.latency_predictor.ref_ms
        return (ratio if self.latency_form == 'linear' else torch.log(ratio)), lat

    def architecture_gradient(self, weight_batch: dict, arch_batch: dict,
                              weight_optimizer: torch.optim.Optimizer) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """DARTS' gradient of ``L_v`` plus ``lambda * dL_lat/dalpha``; returns ``(gradients, L_v)``."""
        grads, ce = super().architecture_gradient(weight_batch, arch_batch, weight_optimizer)
        loss_lat, lat = self.latency_loss()
        log = dict(expected_latency_ms=lat.detach(), loss_latency=(self.latency_lambda * loss_lat).detach(),
                   ce_grad_norm=torch.sqrt(sum((g.detach() ** 2).sum() for g in grads)))
        if self.latency_lambda > 0:
            lat_grads = torch.autograd.grad(self.latency_lambda * loss_lat, self.arch_parameters())
            log['lat_grad_norm'] = torch.sqrt(sum((g ** 2).sum() for g in lat_grads))
            grads = [g + lg.to(g.dtype) for g, lg in zip(grads, lat_grads)]
        self._latency_log = log
        return grads, ce

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """DARTS' iteration; logs also ``expected_latency_ms``, ``loss_latency`` (``lambda L_lat``),
        ``ce_grad_norm`` and ``lat_grad_norm`` on iterations with an architecture step."""
        self._latency_log = {}
        log_vars = super().train_step(data, optim_wrapper)
        log_vars.update({k: v.float() for k, v in self._latency_log.items()})
        return log_vars

    def derived_genotype(self) -> str:
        return self.backbone.genotype()

    def predicted_latency(self, arch: Optional[space.ArchLike] = None) -> float:
        """The predictor's latency (ms) of ``arch`` (default: the derived cell)."""
        return self.latency_predictor.predict(self.derived_genotype() if arch is None else arch)
