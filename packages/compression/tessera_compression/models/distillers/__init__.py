from .connected_losses import build_connected_losses, compute_connected_losses
from .bingo import BINGO, cutmix_pair, knn_bags
from .distillation_model import DistillationModel
from .embedding_queue import EmbeddingQueue
from .frozen_teacher import TeacherCheckpointError, build_teacher, freeze, load_teacher_checkpoint, teacher_model_cfg
from .seed import SEED

__all__ = ['BINGO', 'SEED', 'EmbeddingQueue', 'cutmix_pair', 'knn_bags', 'DistillationModel', 'TeacherCheckpointError', 'build_connected_losses', 'build_teacher',
           'compute_connected_losses', 'freeze', 'load_teacher_checkpoint', 'teacher_model_cfg']
