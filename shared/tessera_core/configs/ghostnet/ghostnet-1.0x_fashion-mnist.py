# GhostNet 1.0x on Fashion-MNIST (60k train / 10k test, 28 x 28 grey), the shared
# 5-epoch recipe of the efficient-backbone configs. Small-image stem: the paper's
# first conv has stride 2 (total stride 32, 224 px -> 7 x 7); on 28 px images it
# has stride 1 (total stride 16, last map 2 x 2), as every issue-3 backbone here.
# Head as in the paper: global pooling, 1x1 conv 960 -> 1280 + ReLU, dropout 0.2,
# linear classifier.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='GhostNet', widen_factor=1.0, in_channels=1, stem_stride=1, out_indices=(4,)),
    head=dict(type='ConvClsHead', num_classes=10, in_channels=960, mid_channels=1280, dropout=0.2),
)
