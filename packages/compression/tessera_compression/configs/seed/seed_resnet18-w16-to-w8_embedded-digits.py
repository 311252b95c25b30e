# SEED (arXiv:2101.04731) on the 4,000 embedded MNIST digits (labels unused): the MoCo v2 teacher of
# ../mocov2/mocov2_resnet18-w16_embedded-digits.py (quarter-width ResNet-18 + MLP head, frozen, loaded
# strictly from its checkpoint) distilled into an eighth-width ResNet-18 (8 base channels) with the same
# 2-layer MLP head to 128-d. The student matches the teacher's similarity distribution over
# [its own teacher embedding, a FIFO queue of teacher embeddings]: tau_S = 0.2, tau_T = 0.01 (paper);
# queue 65,536 in the paper, 1024 here for 4,000 images (the teacher's own queue size). One MoCo v2
# view per image for both networks (official code). SGD lr 0.03 at batch 256, momentum 0.9, wd 1e-4,
# cosine (official recipe), 20 epochs. Train the teacher first or pass model.teacher_ckpt=PATH.
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
teacher_ckpt = 'work_dirs/mocov2_resnet18-w16_embedded-digits/epoch_20.pth'
student = dict(
    type='MoCoV2',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
    neck=dict(type='GlobalAveragePooling'),
    projector=dict(type='MLPProjector', in_channels=64, hid_channels=64, out_channels=128),
    queue_len=256, feat_dim=128)   # only the query encoder (backbone, neck, projector) is used
model = dict(
    type='SEED',
    student=student,
    teacher='tessera_compression::mocov2/mocov2_resnet18-w16_embedded-digits.py',
    teacher_ckpt=teacher_ckpt,
    queue_len=1024, feat_dim=128,
    loss=dict(type='SEEDLoss', student_temperature=0.2, teacher_temperature=0.01),
)
view_pipeline = [
    dict(type='RandomResizedCrop', size=28, scale=(0.2, 1.0)),
    dict(type='RandomBrightnessContrast', brightness=0.4, contrast=0.4, prob=0.8),
    dict(type='RandomGaussianBlur', sigma=(0.1, 2.0), prob=0.5),
    dict(type='RandomHorizontalFlip', prob=0.5),
]
train_pipeline = [dict(type='MultiView', num_views=1, transforms=view_pipeline), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=256, drop_last=True,
    dataset=dict(_scope_='tessera_compression', pipeline=train_pipeline))
max_epochs = 20
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
