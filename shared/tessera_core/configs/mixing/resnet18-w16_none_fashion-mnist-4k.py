# The recipe every mixing config here shares (issue 15: Mixup vs CutMix vs AutoMix vs none at one
# recipe, small enough for ~30 CPU-minutes in total): a quarter-width ResNet-18 (16 base channels,
# 3x3/1 stem; stages 64 x 28 x 28 -> 128 x 4 x 4) on 28 x 28 Fashion-MNIST (Debian's
# dataset-fashion-mnist), trained on the first 4,000 training images (about 400 per class) with
# random 2 px shifts, tested on all 10,000 test images; plain cross-entropy; 4 epochs of SGD
# (nesterov, lr 0.1 for batch 64, weight decay 5e-4, one linear warm-up epoch, cosine to 0).
# This config is the baseline without mixing.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
num_classes = 10
model = dict(
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16, out_indices=(3,)),
    head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
)
train_dataloader = dict(batch_size=64, num_workers=0, persistent_workers=False, dataset=dict(indices=4000))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
