# The BNNeck baseline (strong-baseline recipe: label-smoothed ID loss on the BNNeck logits + batch-hard triplet,
# PK batches, random erasing, Adam with warm-up) with a quarter-width ResNet-18 (3x3 stem) on the CamStyle-ReID
# fashion domain: 500 training identities, test on 300 unseen ones (600 queries vs 4,800 gallery shots).
# Smoke schedule: 3 epochs (750 iterations), lr x0.1 after epoch 2. One fixed normalisation for both domains
# (mean 128, std 64 per channel), so that a model trained here can be evaluated on the digits domain as it is.
_base_ = [
    '../_base_/models/bnneck_resnet18_small.py',
    '../_base_/datasets/camstyle_fashion.py',
    '../_base_/schedules/adam_warmup_step.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3),
    backbone=dict(in_channels=3, base_channels=16),
    head=dict(num_classes=500, in_channels=128))
max_epochs = 3
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[2], gamma=0.1, by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=50))
# the ranked-gallery picture of 6 queries (top 8, true matches green, false red) after validation and test
custom_hooks = [dict(type='RankedGalleryHook', num_queries=6, topk=8, cell=(48, 48))]
