"""Feeds the training progress ``t / T`` to a MAL head (its all-to-top-1 and depression schedules).

"Multiple Anchor Learning for Visual Object Detection", Ke et al., CVPR 2020, arXiv:1912.02252; the official
code (github.com/DeLightCMU/MAL) passes ``iteration`` through the detector's ``forward``. mmdet's detectors
do not, so this hook sets it before every training iteration (written by hand: no mmengine hook does this).
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_detection.registry import HOOKS


@HOOKS.register_module()
class MALScheduleHook(Hook):
    """Before training iteration ``t`` (0-based) of ``T``, calls ``set_train_progress(t / T)`` on the module
    ``head_attr`` of the model (default ``bbox_head``); the module must have that method (``MALRetinaHead``)."""
    priority = 'NORMAL'

    def __init__(self, head_attr: str = 'bbox_head') -> None:
        self.head_attr = head_attr

    def _head(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, self.head_attr, None)
        if head is None or not hasattr(head, 'set_train_progress'):
            raise TypeError(f'MALScheduleHook: model.{self.head_attr} is {type(head).__name__}, '
                            'which has no set_train_progress (use MALRetinaHead)')
        return head

    def before_train(self, runner) -> None:
        self._head(runner)  # fail at once on a wrong model

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._head(runner).set_train_progress(min(1.0, runner.iter / max(1, runner.max_iters)))
