# Knowledge distillation (Hinton et al., arXiv:1503.02531) on the 4,000 embedded real MNIST digits:
# the teacher is tessera-core's demo network (quarter-width ResNet-18, 16 base channels), built from
# its own config and loaded from its checkpoint; the student is the eighth-width ResNet-18 (8 base
# channels). Loss: the student's label-smoothed cross-entropy + KD on the logits (T = 4, weight 1).
# Train the teacher first (about a minute):
#   mim train tessera-core demo/resnet18-w16_embedded-digits.py --work-dir work_dirs/teacher_resnet18-w16
# then this config; another teacher checkpoint: --cfg-options model.teacher_ckpt=PATH
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    'tessera_core::_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
teacher_cfg = 'tessera_core::demo/resnet18-w16_embedded-digits.py'
teacher_ckpt = 'work_dirs/teacher_resnet18-w16/epoch_8.pth'
model = dict(
    type='DistillationModel',
    student=dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,))),
    teacher=teacher_cfg,
    teacher_ckpt=teacher_ckpt,
    student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4.0, loss_weight=1.0)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'))),
)
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
