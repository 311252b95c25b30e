# torchvision-style ResNet-18 (64 base channels, BasicBlocks 2-2-2-2) on
# Fashion-MNIST: the accuracy/MACs reference of the efficient backbones, with the
# same 5-epoch recipe. Small-image stem: the ImageNet stem (7x7/2 conv + 3x3/2
# max-pool, stride 4) would leave 7 x 7 maps at stage 1 of a 28 px image; here one
# 3x3/2 conv (total stride 16, last map 2 x 2, like the other issue-3 backbones).
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', stem_stride=2, base_channels=64),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512),
)
