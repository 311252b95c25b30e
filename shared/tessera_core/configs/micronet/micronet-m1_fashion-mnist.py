# MicroNet-M1 on Fashion-MNIST (60k train / 10k test, 28 x 28 grey), the shared
# 5-epoch recipe of the efficient-backbone configs. Small-image stem: the paper's
# stem (3x1 conv + 1x3 group conv) has stride 2 (total stride 32, 224 px -> 7 x 7);
# on 28 px images it has stride 1 (total stride 16, last map 2 x 2), as every
# issue-3 backbone here. Head as in the official code (OUT_CH 960, DROPOUT 0.05):
# ReLU6, global pooling, h-swish, Linear-BN-h-swish 576 -> 960, dropout,
# Linear-BN-h-swish to the classes; it pools the backbone map itself (no neck).
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='MicroNet', arch='m1', in_channels=1, stem_stride=1, out_indices=(4,)),
    neck=None,
    head=dict(type='MicroNetClsHead', num_classes=10, in_channels=576, mid_channels=960, dropout=0.05),
)
