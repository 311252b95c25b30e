"""DistillationModel: a student trained with its own loss plus losses on records of a frozen teacher.

The design follows mmrazor's single-teacher distillation (https://github.com/open-mmlab/mmrazor:
a teacher built from its own config and checkpoint, recorders on student and teacher, losses
connecting the records), rebuilt smaller on mmengine; the baseline loss is Hinton et al.'s KD
(arXiv:1503.02531, :class:`~tessera_compression.models.losses.KLDivergence`).

::

    model = dict(
        type='DistillationModel',
        student=dict(type='ImageClassifier', ...),            # any model config
        teacher='tessera_core::demo/resnet18-w16_embedded-digits.py',   # or a model config dict
        teacher_ckpt='work_dirs/teacher/epoch_8.pth',
        student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
        teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4.0, loss_weight=1.0)),
        loss_forward_mappings=dict(loss_kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))

How the teacher is kept out of training:

- it is **not a registered submodule**: ``model.parameters()``, ``named_modules()``, the optimizer
  wrapper constructors, DDP and ``init_weights()`` never see it, so it gets neither gradients nor
  optimizer state nor re-initialisation; ``model.to(...)`` still moves it (``_apply``);
- it runs under ``torch.no_grad()`` and stays in eval mode (BatchNorm running statistics and
  dropout frozen) whatever ``model.train()`` is called with;
- ``state_dict()`` holds the student (``student.*``) and the distillation losses' own parameters;
  the teacher (``teacher.*``) only with ``save_teacher=True``. A checkpoint holding ``teacher.*``
  keys loads them into the teacher.

Both networks see the same preprocessed inputs (the student's data preprocessor); ``val_step`` /
``test_step`` / ``mode='predict'|'tensor'`` run the student only. The student's checkpoint loads
into the plain student config with ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='student.')``.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from tessera_compression.registry import MODELS

from ..recorders import RecorderManager
from .connected_losses import build_connected_losses, compute_connected_losses
from .frozen_teacher import build_teacher, freeze

__all__ = ['DistillationModel']


@MODELS.register_module()
class DistillationModel(BaseModel):
    """Student + frozen teacher + connected distillation losses.

    Args:
        student (dict | BaseModel): Config of the student (any registered mmengine model) or the model.
        teacher (dict | str | nn.Module): Teacher model config, or a config file path whose ``model`` is
            the teacher (``'tessera_core::...'`` paths resolve in that package's configs).
        teacher_ckpt (str, optional): Teacher checkpoint, loaded strictly; None keeps random weights.
        student_recorders, teacher_recorders (dict): ``name -> recorder config``
            (``ModuleOutputsRecorder`` / ``MethodOutputsRecorder``), attached to each network.
        distill_losses (dict): ``name -> loss config``.
        loss_forward_mappings (dict): ``loss name -> {forward arg: dict(from_student, recorder,
            [record_idx], [data_idx])}``.
        calculate_student_loss (bool): Add the student's own task losses (``student.*`` keys).
        save_teacher (bool): Store the teacher in checkpoints too.
        data_preprocessor (dict, optional): Defaults to the student's.
        init_cfg (dict, optional): mmengine init config of the wrapper.
    """

    def __init__(self, student: Union[dict, BaseModel], teacher: Union[dict, str, nn.Module],
                 teacher_ckpt: Optional[str] = None, student_recorders: Optional[Dict[str, dict]] = None,
                 teacher_recorders: Optional[Dict[str, dict]] = None,
                 distill_losses: Optional[Dict[str, dict]] = None,
                 loss_forward_mappings: Optional[Dict[str, dict]] = None, calculate_student_loss: bool = True,
                 save_teacher: bool = False, data_preprocessor: Optional[dict] = None, init_cfg=None):
        student = MODELS.build(student) if isinstance(student, dict) else student
        if not isinstance(student, BaseModel):
            raise TypeError(f'the student must be an mmengine BaseModel (forward with data_samples and mode), '
                            f'got {type(student).__name__}')
        if data_preprocessor is None:
            data_preprocessor = student.data_preprocessor
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = student
        # Outside the registered submodules on purpose (see the module docstring).
        object.__setattr__(self, 'teacher', build_teacher(teacher, teacher_ckpt, MODELS))
        self.teacher_ckpt = teacher_ckpt
        self.calculate_student_loss, self.save_teacher = calculate_student_loss, save_teacher

        self.student_recorders = RecorderManager(student_recorders)
        self.teacher_recorders = RecorderManager(teacher_recorders)
        self.student_recorders.initialize(self.student)
        self.teacher_recorders.initialize(self.teacher)
        self.loss_forward_mappings = dict(loss_forward_mappings or {})
        self.distill_losses = build_connected_losses(distill_losses, self.loss_forward_mappings, MODELS,
                                                     self.student_recorders, self.teacher_recorders)
        self._register_state_dict_hook(self._teacher_state_dict_hook)
        self._register_load_state_dict_pre_hook(self._teacher_load_pre_hook, with_module=True)

    # ----------------------------------------------------------------------------- teacher handling
    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.teacher._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    @staticmethod
    def _teacher_state_dict_hook(module, state_dict, prefix, local_metadata):
        if module.save_teacher:
            for key, value in module.teacher.state_dict().items():
                state_dict[prefix + 'teacher.' + key] = value.detach()
        return state_dict

    @staticmethod
    def _teacher_load_pre_hook(module, state_dict, prefix, *args):
        head = prefix + 'teacher.'
        keys = [k for k in state_dict if k.startswith(head)]
        if keys:
            module.teacher.load_state_dict({k[len(head):]: state_dict.pop(k) for k in keys}, strict=True)
            freeze(module.teacher)

    def teacher_forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, grad: bool = False):
        """Run the teacher (eval mode) while its recorders record; ``grad=True`` lets gradients
        flow to ``inputs`` (not to the frozen weights), as a data-free generator needs."""
        self.teacher.eval()
        with self.teacher_recorders.recording(), torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            return self.teacher(inputs, data_samples, mode='tensor')

    # ----------------------------------------------------------------------------- mmengine API
    def compute_distill_losses(self) -> Dict[str, torch.Tensor]:
        """The distillation losses on the current records, keys ``distill.<name>``."""
        losses = compute_connected_losses(self.distill_losses, self.loss_forward_mappings, self.student_recorders,
                                          self.teacher_recorders)
        return {f'distill.{k}': v for k, v in losses.items()}

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        """Teacher (no grad) then student on the same inputs: the student's own losses
        (``student.*``, if ``calculate_student_loss``) and the distillation losses (``distill.*``)."""
        self.teacher_forward(inputs, data_samples)
        losses = {}
        with self.student_recorders.recording():
            if self.calculate_student_loss:
                student_losses = self.student(inputs, data_samples, mode='loss')
                losses.update({f'student.{k}': v for k, v in student_losses.items()})
            else:
                self.student(inputs, data_samples, mode='tensor')
        losses.update(self.compute_distill_losses())
        return losses

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
