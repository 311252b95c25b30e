"""EMA update of SdAE's teacher encoder, once per epoch (the official ``ema_op='per_epoch'``) or per iteration.

Update ``k`` of ``K`` (``K`` = the run's epochs, or its iterations when the model has
``ema_by_epoch=False``) uses the model's cosine momentum ``m_k`` (:func:`cosine_momentum`) and applies
``theta_t <- m_k * theta_t + (1 - m_k) * theta_s`` (``SdAE.momentum_update``). The momentum used last is
logged as ``teacher_momentum``.
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_generative.registry import HOOKS


@HOOKS.register_module()
class SdAETeacherUpdateHook(Hook):
    priority = 'NORMAL'

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'momentum_update') or not hasattr(model, 'teacher_momentum'):
            raise TypeError(f'SdAETeacherUpdateHook needs an SdAE-like model (momentum_update, teacher_momentum), '
                            f'got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        self._model(runner)

    def _update(self, runner, step: int, total: int) -> None:
        model = self._model(runner)
        m = model.teacher_momentum(step, total)
        model.momentum_update(m)
        runner.message_hub.update_scalar('train/teacher_momentum', m)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._model(runner).ema_by_epoch:
            self._update(runner, runner.iter, runner.max_iters)

    def after_train_epoch(self, runner) -> None:
        if self._model(runner).ema_by_epoch:
            self._update(runner, runner.epoch, runner.max_epochs)
