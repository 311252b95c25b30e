"""Small models and checkpoints shared by the distillation / data-free tests (not a test file)."""
import torch


def classifier_cfg(width: int = 8, num_classes: int = 10) -> dict:
    """A ResNet-18 classifier of ``width`` base channels for 1-channel images."""
    return dict(type='ImageClassifier',
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
                backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=width),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * width,
                          loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)))


def logits_recorders() -> dict:
    return dict(logits=dict(type='MethodOutputsRecorder', source='head.forward'))


def kd_losses(tau: float = 4.0, weight: float = 1.0):
    return (dict(loss_kd=dict(type='KLDivergence', tau=tau, loss_weight=weight)),
            dict(loss_kd=dict(preds_S=dict(from_student=True, recorder='logits'),
                              preds_T=dict(from_student=False, recorder='logits'))))


def save_teacher_checkpoint(path, width: int = 8, seed: int = 1) -> str:
    """A trained-looking teacher checkpoint: random weights and non-trivial BN statistics."""
    from tessera_compression.registry import MODELS
    from tessera_core.testing import randomise_batchnorms
    torch.manual_seed(seed)
    teacher = MODELS.build(classifier_cfg(width))
    teacher.init_weights()
    randomise_batchnorms(teacher, seed)
    torch.save(dict(meta=dict(), state_dict=teacher.state_dict()), str(path))
    return str(path)


def batch(n: int = 8, size: int = 16, seed: int = 0):
    """A data batch as a dataloader gives it: uint8-range images and ClsDataSamples."""
    from tessera_core.structures import ClsDataSample
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (1, size, size), generator=g).to(torch.uint8) for _ in range(n)]
    samples = [ClsDataSample().set_gt_label(int(i % 10)) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)
