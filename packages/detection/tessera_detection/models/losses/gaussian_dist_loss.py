"""Gaussian distance losses for rotated boxes: GWD and KLD.

- GWD: "Rethinking Rotated Object Detection with Gaussian Wasserstein Distance Loss", Yang, Yan, Ming, Wang,
  Zhang, Tian, ICML 2021, arXiv:2101.11952.
- KLD: "Learning High-Precision Bounding Box for Rotated Object Detection via Kullback-Leibler Divergence",
  Yang, Yang, Yang, Ming, Wang, Tian, Yan, NeurIPS 2021, arXiv:2106.01883.

Official code: the authors' implementations in mmrotate (``mmrotate/models/losses/gaussian_dist_loss.py``,
``GDLoss``, and ``gaussian_dist_loss_v1.py``, ``GDLoss_v1``; github.com/open-mmlab/mmrotate) and
github.com/yangxue0827/RotationDetection (TensorFlow). Written here from the papers' equations; defaults
follow the mmrotate 1.x configs the authors report (see the class docstrings).

A rotated box ``(cx, cy, w, h, a)`` becomes the 2-D Gaussian (both papers, Sec. 3)::

    mu = (cx, cy),    Sigma = R diag(w^2 / 4, h^2 / 4) R^T,    R = [[cos a, -sin a], [sin a, cos a]].

``Sigma`` does not change under ``a -> a + pi`` nor under ``(w, h, a) -> (h, w, a + pi/2)``: the equivalent
representations of one box (the ``le90`` boundary) give the same Gaussian, and a square's Gaussian does not
depend on its angle. A loss of the Gaussians therefore has no boundary discontinuity and no square-like
problem, whereas the deltas ``(dx, dy, dw, dh, da)`` a smooth-L1 loss regresses jump there.

Squared 2-Wasserstein distance (GWD, Eq. 4; the trace of the matrix square root in closed form for 2x2
symmetric positive-definite matrices, ``Tr(Z^1/2) = (Tr Z + 2 det(Z)^1/2)^1/2``)::

    d^2 = |mu_p - mu_t|^2 + Tr(Sigma_p) + Tr(Sigma_t)
          - 2 (Tr(Sigma_p Sigma_t) + 2 (det Sigma_p det Sigma_t)^1/2)^1/2

Kullback-Leibler divergence of the prediction from the target (KLD, Eq. 8), ``D_kl(N_p || N_t)``::

    D_kl = 1/2 (mu_p - mu_t)^T Sigma_t^-1 (mu_p - mu_t) + 1/2 Tr(Sigma_t^-1 Sigma_p)
           + 1/2 ln(det Sigma_t / det Sigma_p) - 1

GWD is symmetric in ``p, t`` and not scale invariant; KLD is asymmetric and invariant to a common scaling
of both boxes (KLD paper, Sec. 3.3). Both turn a distance ``D`` into a loss with a nonlinear transform ``f``
and ``tau`` (GWD Eq. 6, KLD Eq. 12)::

    L = 1 - 1 / (tau + f(D))        f in {sqrt, log1p, none};    with tau < 1: L = f(D)

(the ``tau < 1`` branch is mmrotate's ``GDLoss``, whose configs use ``tau=0`` for GWD).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from tessera_detection.registry import MODELS

FUNS = ('log1p', 'sqrt', 'none')
REDUCTIONS = ('none', 'mean', 'sum')


def rbox2gaussian(rboxes: Tensor) -> Tuple[Tensor, Tensor]:
    """``(..., 5)`` boxes ``(cx, cy, w, h, a)`` -> means ``(..., 2)`` and covariances ``(..., 2, 2)``.

    ``w, h`` are clamped to ``[1e-7, 1e7]`` as in mmrotate (a degenerate box stays positive definite).
    """
    if rboxes.shape[-1] != 5:
        raise ValueError(f'rotated boxes must have shape (..., 5) (cx, cy, w, h, angle), got {tuple(rboxes.shape)}')
    mu = rboxes[..., :2]
    w, h = rboxes[..., 2].clamp(1e-7, 1e7), rboxes[..., 3].clamp(1e-7, 1e7)
    cos, sin = torch.cos(rboxes[..., 4]), torch.sin(rboxes[..., 4])
    vw, vh = w.square() / 4, h.square() / 4  # eigenvalues of Sigma, along u = (cos, sin) and v = (-sin, cos)
    sxx = vw * cos.square() + vh * sin.square()
    syy = vw * sin.square() + vh * cos.square()
    sxy = (vw - vh) * cos * sin
    sigma = torch.stack([sxx, sxy, sxy, syy], dim=-1).reshape(*rboxes.shape[:-1], 2, 2)
    return mu, sigma


def _det(s: Tensor) -> Tensor:
    return s[..., 0, 0] * s[..., 1, 1] - s[..., 0, 1] * s[..., 1, 0]


def _trace(s: Tensor) -> Tensor:
    return s[..., 0, 0] + s[..., 1, 1]


def _inv(s: Tensor) -> Tensor:
    adj = torch.stack([s[..., 1, 1], -s[..., 0, 1], -s[..., 1, 0], s[..., 0, 0]], dim=-1).reshape(s.shape)
    return adj / _det(s)[..., None, None]


def gwd_distance(pred: Tensor, target: Tensor, alpha: float = 1.0, normalize: bool = False) -> Tensor:
    """The GWD distance ``D`` of two sets of rotated boxes ``(..., 5)`` -> ``(...)``.

    Args:
        pred, target: Boxes ``(cx, cy, w, h, a)``.
        alpha: Weight of the shape term: ``|dmu|^2 + alpha^2 * (shape terms of d^2)`` (mmrotate's ``alpha``).
        normalize: ``False``: ``D = d^2``, the squared Wasserstein distance of the paper's Eq. 4 (mmrotate's
            ``GDLoss_v1``). ``True``: ``D = d / (2 (det Sigma_p det Sigma_t)^(1/8))``, the distance (not
            squared) divided by the geometric mean of the four sides, as mmrotate's ``GDLoss`` computes it
            (``normalize=True``, the loss of the authors' GWD configs); scale invariant.
    """
    mu_p, s_p = rbox2gaussian(pred)
    mu_t, s_t = rbox2gaussian(target)
    xy = (mu_p - mu_t).square().sum(-1)
    det_sqrt = (_det(s_p) * _det(s_t)).clamp(min=0).sqrt()
    cross = _trace(s_p @ s_t)
    shape = _trace(s_p) + _trace(s_t) - 2 * (cross + 2 * det_sqrt).clamp(min=0).sqrt()
    d2 = (xy + alpha * alpha * shape).clamp(min=0)
    if not normalize:
        return d2
    return d2.sqrt() / (2 * det_sqrt.sqrt().sqrt()).clamp(min=1e-7)


def kld_distance(pred: Tensor, target: Tensor, alpha: float = 1.0, sqrt: bool = False) -> Tensor:
    """``D_kl(N_pred || N_target)`` of two sets of rotated boxes ``(..., 5)`` -> ``(...)`` (KLD Eq. 8).

    Args:
        pred, target: Boxes ``(cx, cy, w, h, a)``.
        alpha: The centre term is divided by ``alpha^2`` (mmrotate's ``alpha``).
        sqrt: Return ``sqrt(D_kl)`` (mmrotate ``GDLoss``'s ``sqrt`` option; its KLD-stable configs use
            ``False``).
    """
    mu_p, s_p = rbox2gaussian(pred)
    mu_t, s_t = rbox2gaussian(target)
    s_t_inv = _inv(s_t)
    d = (mu_p - mu_t).unsqueeze(-1)
    center = 0.5 * (d.transpose(-1, -2) @ s_t_inv @ d)[..., 0, 0]
    shape = 0.5 * _trace(s_t_inv @ s_p) + 0.5 * (torch.log(_det(s_t)) - torch.log(_det(s_p))) - 1
    dist = center / (alpha * alpha) + shape
    return dist.clamp(min=0).sqrt() if sqrt else dist


def transform_distance(dist: Tensor, fun: str = 'log1p', tau: float = 1.0) -> Tensor:
    """``1 - 1 / (tau + f(D))`` for ``tau >= 1``, ``f(D)`` otherwise (module docstring)."""
    if fun == 'log1p':
        dist = torch.log1p(dist.clamp(min=0))
    elif fun == 'sqrt':
        dist = dist.clamp(min=1e-7).sqrt()  # finite gradient at D = 0
    elif fun != 'none':
        raise ValueError(f'unknown fun {fun!r}; valid: {FUNS}')
    return 1 - 1 / (tau + dist) if tau >= 1.0 else dist


class _GaussianLoss(nn.Module):
    """mmdet-style loss of decoded rotated boxes ``(N, 5)``: ``forward(pred, target, weight, avg_factor)``.

    Only the boxes with a positive weight enter the distance (the others, e.g. the all-zero targets mmdet's
    ``AnchorHead`` writes for negatives, would make the Gaussians singular); a ``(N, 5)`` weight (mmdet's
    ``bbox_weights``) is averaged over its last axis.
    """

    def __init__(self, fun: str, tau: float, alpha: float, reduction: str, loss_weight: float):
        super().__init__()
        if fun not in FUNS:
            raise ValueError(f'unknown fun {fun!r}; valid: {FUNS}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'unknown reduction {reduction!r}; valid: {REDUCTIONS}')
        self.fun, self.tau, self.alpha = fun, float(tau), float(alpha)
        self.reduction, self.loss_weight = reduction, float(loss_weight)

    def distance(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``pred`` vs ``target`` boxes ``(N, 5)``; ``weight`` ``(N,)`` or ``(N, 5)``."""
        if reduction_override not in (None,) + REDUCTIONS:
            raise ValueError(f'unknown reduction_override {reduction_override!r}; valid: {REDUCTIONS}')
        reduction = reduction_override or self.reduction
        if pred.shape != target.shape or pred.shape[-1] != 5:
            raise ValueError(f'{type(self).__name__} takes decoded rotated boxes (N, 5) (set reg_decoded_bbox=True '
                             f'in the head); got pred {tuple(pred.shape)}, target {tuple(target.shape)}')
        if weight is None:
            weight = pred.new_ones(pred.shape[:-1])
        elif weight.dim() == pred.dim():
            weight = weight.mean(-1)
        loss = pred.new_zeros(pred.shape[:-1])
        pos = weight > 0
        if pos.any():
            loss[pos] = transform_distance(self.distance(pred[pos], target[pos]), self.fun, self.tau)
        loss = loss * weight
        if reduction == 'none':
            pass
        elif reduction == 'sum':
            loss = loss.sum()
        elif avg_factor is None:
            loss = loss.mean()
        else:
            loss = loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
        return self.loss_weight * loss


@MODELS.register_module()
class GWDLoss(_GaussianLoss):
    """Gaussian Wasserstein distance loss (GWD paper, Eq. 6): ``1 - 1/(tau + f(D))`` or ``f(D)`` if ``tau < 1``.

    Defaults: mmrotate's ``GDLoss(loss_type='gwd')`` as its GWD configs use it (``fun='log1p'``,
    ``tau=0.0``, ``alpha=1.0``, ``normalize=True``, with ``loss_weight=5.0`` in the config). The paper's own
    choice, ``1 - 1/(2 + sqrt(d^2))``, is ``fun='sqrt', tau=2.0, normalize=False`` (mmrotate's ``GDLoss_v1``).

    Args:
        fun (str): ``'log1p'``, ``'sqrt'`` or ``'none'``.
        tau (float): See above.
        alpha (float): Weight of the shape terms (:func:`gwd_distance`).
        normalize (bool): :func:`gwd_distance`.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Multiplier.
    """

    def __init__(self, fun: str = 'log1p', tau: float = 0.0, alpha: float = 1.0, normalize: bool = True,
                 reduction: str = 'mean', loss_weight: float = 1.0):
        super().__init__(fun, tau, alpha, reduction, loss_weight)
        self.normalize = bool(normalize)

    def distance(self, pred: Tensor, target: Tensor) -> Tensor:
        return gwd_distance(pred, target, self.alpha, self.normalize)


@MODELS.register_module()
class KLDLoss(_GaussianLoss):
    """Kullback-Leibler divergence loss (KLD paper, Eq. 12): ``1 - 1/(tau + f(D_kl(N_p || N_t))))``.

    Defaults: the paper's and mmrotate 1.x's KLD config (``GDLoss_v1(loss_type='kld', fun='log1p', tau=1)``,
    ``loss_weight=1.0``): ``f = log1p``, ``tau = 1``. Difference: ``GDLoss_v1`` feeds ``2 D_kl`` to ``f``
    (its formula has no factor 1/2); here ``D_kl`` is the paper's, with the 1/2.

    Args:
        fun (str): ``'log1p'``, ``'sqrt'`` or ``'none'``.
        tau (float): See the module docstring.
        alpha (float): The centre term is divided by ``alpha^2``.
        sqrt (bool): Use ``sqrt(D_kl)`` as the distance (:func:`kld_distance`).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Multiplier.
    """

    def __init__(self, fun: str = 'log1p', tau: float = 1.0, alpha: float = 1.0, sqrt: bool = False,
                 reduction: str = 'mean', loss_weight: float = 1.0):
        super().__init__(fun, tau, alpha, reduction, loss_weight)
        self.sqrt = bool(sqrt)

    def distance(self, pred: Tensor, target: Tensor) -> Tensor:
        return kld_distance(pred, target, self.alpha, self.sqrt)


__all__ = ['GWDLoss', 'KLDLoss', 'gwd_distance', 'kld_distance', 'rbox2gaussian', 'transform_distance']
