# MobileNetV2 1.0x (torchvision layout) on Fashion-MNIST (60k train / 10k test, 28 x 28 grey),
# the shared 5-epoch recipe of the efficient-backbone configs: the static baseline of DCD
# MobileNetV2. Small-image stem: the first 3x3 conv has stride 1 instead of 2 (total stride 16,
# last map 2 x 2), as every issue-3 backbone here. Head as torchvision: global pooling of the
# 1280-channel final conv, dropout 0.2, linear classifier.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='MobileNetV2', widen_factor=1.0, in_channels=1, stem_stride=1, out_indices=(4,)),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=1280, dropout=0.2),
)
