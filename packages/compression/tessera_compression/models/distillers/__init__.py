from .connected_losses import build_connected_losses, compute_connected_losses
from .distillation_model import DistillationModel
from .frozen_teacher import TeacherCheckpointError, build_teacher, freeze, load_teacher_checkpoint, teacher_model_cfg

__all__ = ['DistillationModel', 'TeacherCheckpointError', 'build_connected_losses', 'build_teacher',
           'compute_connected_losses', 'freeze', 'load_teacher_checkpoint', 'teacher_model_cfg']
