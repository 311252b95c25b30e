"""Linear drop-path schedule of the DARTS evaluation training.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019, arXiv:1806.09055,
official code https://github.com/quark0/darts (``cnn/train.py``:
``model.drop_path_prob = args.drop_path_prob * epoch / args.epochs`` before every epoch).
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_nas.registry import HOOKS

__all__ = ['DropPathProbHook']


@HOOKS.register_module()
class DropPathProbHook(Hook):
    """Sets ``drop_path_prob = max_drop_path_prob * progress`` on every module of the model that
    has a ``max_drop_path_prob`` attribute (e.g. ``DARTSNetwork``), where progress is
    ``epoch / max_epochs`` before each training epoch (``by_epoch=True``, the official schedule)
    or ``iter / max_iters`` before each training iteration.

    Args:
        by_epoch (bool): Update per epoch (official) or per iteration.
    """
    priority = 'NORMAL'

    def __init__(self, by_epoch: bool = True):
        self.by_epoch = by_epoch

    @staticmethod
    def _set(runner, progress: float) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        found = False
        for module in model.modules():
            if hasattr(module, 'max_drop_path_prob'):
                module.drop_path_prob = module.max_drop_path_prob * progress
                found = True
        if not found:
            raise RuntimeError('DropPathProbHook found no module with a max_drop_path_prob attribute '
                               '(e.g. DARTSNetwork) in the model')

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._set(runner, runner.epoch / runner.max_epochs)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            self._set(runner, runner.iter / runner.max_iters)
