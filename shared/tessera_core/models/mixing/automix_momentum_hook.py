"""The momentum schedule of AutoMix's momentum encoder (official ``CosineScheduleHook`` of openmixup,
``openmixup/core/hooks/momentum_hook.py``).

With base momentum ``m_0`` (the model's ``base_momentum``), end momentum ``m_1``, ``T`` training
iterations and ``adjust_scope = (s_0, s_1)``, before iteration ``t``:

    t < s_0 T:            m = m_0 ('constant' warm-up) or m_1 - (m_1 - m_0) (s_0 T - t) / (s_0 T) ('linear')
    s_0 T <= t <= s_1 T:  m = m_1 - (m_1 - m_0) (cos(pi t / (s_1 T)) + 1) / 2
    t > s_1 T:            unchanged

(the official formula measures the cosine from iteration 0, not from ``s_0 T``). The official AutoMix
configs: ``m_0 = 0.999``, ``m_1 = 0.999999`` (CIFAR) / ``0.99999`` (ImageNet), ``adjust_scope=[0.1, 1.0]``,
``warming_up='constant'``.
"""
import math
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_core.registry import HOOKS

WARMING_UP = ('constant', 'linear')


def automix_momentum(cur_iter: int, max_iters: int, base_momentum: float, end_momentum: float,
                     adjust_scope: Sequence[float] = (0.1, 1.0), warming_up: str = 'constant') -> Optional[float]:
    """The momentum before iteration ``cur_iter`` (None: keep the current one)."""
    lo, hi = adjust_scope
    max_iter = int(max_iters * hi) if hi < 1 else max_iters
    min_iter = int(max_iters * lo) if lo > 0 else 0
    if min_iter <= cur_iter <= max_iter:
        return end_momentum - (end_momentum - base_momentum) * (math.cos(math.pi * cur_iter / float(max_iter)) + 1) / 2
    if cur_iter < min_iter:
        if warming_up == 'constant':
            return base_momentum
        return end_momentum - (end_momentum - base_momentum) * (min_iter - cur_iter) / min_iter
    return None


@HOOKS.register_module()
class AutoMixMomentumHook(Hook):
    """Sets ``model.momentum`` before every training iteration by :func:`automix_momentum`.

    The EMA itself runs in :meth:`AutoMixClassifier.train_step` after every optimiser step, so
    without this hook the momentum stays at ``base_momentum``.

    Args:
        end_momentum (float): ``m_1`` (official CIFAR 0.999999), >= the model's base momentum, <= 1.
        adjust_scope (tuple): ``(s_0, s_1)`` with ``0 <= s_0 <= s_1 <= 1`` (official (0.1, 1.0)).
        warming_up (str): ``'constant'`` (official AutoMix configs) or ``'linear'``.
    """
    priority = 'NORMAL'

    def __init__(self, end_momentum: float = 0.999999, adjust_scope: Sequence[float] = (0.1, 1.0),
                 warming_up: str = 'constant'):
        if len(adjust_scope) != 2 or not 0 <= adjust_scope[0] <= adjust_scope[1] <= 1:
            raise ValueError(f'AutoMixMomentumHook: adjust_scope must be (s_0, s_1) with 0 <= s_0 <= s_1 <= 1, '
                             f'got {adjust_scope!r}')
        if warming_up not in WARMING_UP:
            raise ValueError(f'AutoMixMomentumHook: invalid warming_up {warming_up!r}; valid: {WARMING_UP}')
        if not 0 <= end_momentum <= 1:
            raise ValueError(f'AutoMixMomentumHook: end_momentum must lie in [0, 1], got {end_momentum}')
        self.end_momentum, self.adjust_scope, self.warming_up = float(end_momentum), tuple(adjust_scope), warming_up

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'base_momentum') or not hasattr(model, 'momentum'):
            raise TypeError(f'AutoMixMomentumHook needs a model with momentum and base_momentum (AutoMixClassifier), '
                            f'got {type(model).__name__}')
        return model

    def before_run(self, runner) -> None:
        model = self._model(runner)
        if model.base_momentum > self.end_momentum:
            raise ValueError(f'AutoMixMomentumHook: end_momentum {self.end_momentum} is below the model\'s base '
                             f'momentum {model.base_momentum}')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._model(runner)
        m = automix_momentum(runner.iter, runner.max_iters, model.base_momentum, self.end_momentum,
                             self.adjust_scope, self.warming_up)
        if m is not None:
            model.momentum = m
