# The strong baseline (Luo et al., arXiv:1903.07071, all six tricks: warm-up, random erasing, label smoothing,
# last stride 1, BNNeck, center loss) with a quarter-width ResNet-18 (3x3 stem) on the CamStyle-ReID fashion
# domain: 500 training identities, test on 300 unseen ones (600 queries vs 4,800 gallery shots).
# Against the BNNeck config of configs/camstyle: last stride 1 (8x8 instead of 4x4 final map on the 32x32
# canvases) and center loss (weight 0.0005, its own SGD with lr 0.5 on the centers), and a 6-epoch schedule
# (1,500 iterations): Adam 1e-3, 1-epoch linear warm-up from 0.01x, x0.1 after epoch 5.
_base_ = ['../camstyle/bnneck_resnet18-w16_camstyle-fashion.py']
model = dict(
    backbone=dict(strides=(1, 2, 2, 1)),   # last stride 1
    head=dict(loss_center=dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5)))
max_epochs = 6
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[5], gamma=0.1, by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=50))
