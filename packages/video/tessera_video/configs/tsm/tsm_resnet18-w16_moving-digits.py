# TSM with a quarter-width ResNet-18 (16 base channels, ImageNet stem: 48 px frames -> 12 px at layer1) on
# 8-frame moving-digit clips; the label is the direction of motion. 2 epochs of 4,000 clips (500 iterations of
# 16 clips), SGD with one warm-up epoch then cosine decay. Compare with
# tsn_resnet18-w16_moving-digits.py, the same model and schedule without the temporal shift.
_base_ = [
    '../_base_/models/tsm_resnet18.py',
    '../_base_/datasets/moving_digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(base_channels=16), cls_head=dict(in_channels=128))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=50))
