"""The Double-Forward scheme of Memorized Batch Normalization, as a runner hook.

Double Forward Propagation for Memorized Batch Normalization, Guo et al., AAAI 2018,
arXiv:2010.04947 (no official code). The layer: :mod:`tessera_core.models.layers.memorized_batch_norm`.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_core.registry import HOOKS


@HOOKS.register_module()
class MBNDoubleForwardHook(Hook):
    """After every optimizer step, forward the same batch once more (no backward) so that every
    ``MemorizedBatchNorm2d`` replaces the statistics it memorised for this batch, measured before
    the update, by those of the updated network (the paper's Double-Forward).

    Use: ``custom_hooks = [dict(type='MBNDoubleForwardHook')]`` in a config whose model uses
    ``norm_cfg=dict(type='MBN', ...)``. The second forward runs the model's data preprocessor
    (``training=True``) and ``mode='tensor'`` on the batch the train step used (the same augmented
    samples: augmentation happens in the dataloader), in train mode under ``torch.no_grad``. It
    costs one forward pass per iteration. Ordinary BatchNorm layers of the same model would update
    their running statistics a second time.

    Args:
        interval (int): Refresh every ``interval`` iterations (1: the paper's scheme).
    """
    priority = 'ABOVE_NORMAL'  # before checkpoint/logger hooks read the model

    def __init__(self, interval: int = 1):
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f'interval must be a positive int, got {interval!r}')
        self.interval = interval

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        from tessera_core.models.layers.memorized_batch_norm import MemorizedBatchNorm2d
        if not any(isinstance(m, MemorizedBatchNorm2d) for m in self._model(runner).modules()):
            raise ValueError('MBNDoubleForwardHook needs a model with MemorizedBatchNorm2d layers '
                             "(norm_cfg=dict(type='MBN', ...)); this model has none")

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if data_batch is None or not self.every_n_train_iters(runner, self.interval):
            return
        from tessera_core.models.layers.memorized_batch_norm import refresh_memorized_statistics
        model = self._model(runner)
        with torch.no_grad(), refresh_memorized_statistics(model):
            data = model.data_preprocessor(data_batch, True)
            model._run_forward(data, mode='tensor')
