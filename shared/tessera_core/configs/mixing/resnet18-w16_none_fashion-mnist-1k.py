# The overfitting setting of the mixing comparison (issue 15), baseline without mixing. Same recipe as
# resnet18-w16_none_fashion-mnist-4k.py (quarter-width ResNet-18, SGD nesterov lr 0.1 for batch 64,
# weight decay 5e-4, random 2 px shifts, cosine to 0, all 10,000 test images) with two changes: the
# first 1,000 training images only (86-115 per class) and 40 epochs (40 x 16 = 640 iterations), so
# that the unmixed model overfits (measured: 99.6 % on its training images, 84.0 % on the test set;
# see the README). The warm-up keeps the 4k recipe's length in iterations: 4 epochs of 16 (64
# iterations; 4k: one epoch of 63). Validation once, at the end. Logged every iteration (window 1)
# for the analysis in the README.
_base_ = './resnet18-w16_none_fashion-mnist-4k.py'
train_dataloader = dict(dataset=dict(indices=1000))
max_epochs = 40
warmup_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=1)
