# The re-ID strong baseline (BNNeck + label smoothing + batch-hard triplet, PK batches, random erasing,
# warm-up) with a quarter-width ResNet-18 (16 base channels, 3x3 stem) on real MNIST digits as identities:
# train on digits 0-4, retrieve the unseen digits 5-9 (60 queries vs 440 gallery images). Short schedule of
# the paper's recipe: Adam with linear warm-up over the first epoch, lr x0.1 after epoch 5 of 6. About 3 minutes on 2
# CPU cores.
_base_ = [
    '../_base_/models/bnneck_resnet18_small.py',
    '../_base_/datasets/embedded_digits_reid.py',
    '../_base_/schedules/adam_warmup_step.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(base_channels=16), head=dict(num_classes=5, in_channels=128))
max_epochs = 6
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[5], gamma=0.1, by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))
