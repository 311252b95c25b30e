# G-Ghost RegNetX-200MF (G-GhostNet, IJCV 2022, arXiv:2201.03297; official g_ghost_regnetx_002: depths
# 1/1/4/7, widths 24/56/152/368, group width 8, the last two stages G-Ghost with cheap ratio 0.5) on
# Fashion-MNIST, the smallest official width: 1.46 M parameters, 9.85 M MACs per 28 x 28 image.
# Small-image stem (stride 1, total stride 16, last map 2 x 2) as every issue-3 backbone here.
# The shared recipe of the efficient backbones (_base_/schedules/fashion_mnist_backbones.py: SGD
# nesterov lr 0.1 for batch 128, weight decay 5e-5, one warm-up epoch, cosine to 0, random 2 px
# shifts) cut to fit ~15 CPU-minutes for this model and its plain RegNetX twin on the shared 2-core
# machine, where a batch-128 step of grouped convs takes ~3 s: the first 6,000 training images,
# 2 epochs (94 iterations); tested on all 10,000 test images.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='GGhostRegNet', arch='200mf', in_channels=1, stem_stride=1, out_indices=(3,)),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=368, dropout=0.2),
)
train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(indices=6000))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
