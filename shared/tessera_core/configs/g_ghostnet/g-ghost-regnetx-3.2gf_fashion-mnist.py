# G-Ghost RegNetX-3.2GF (G-GhostNet, IJCV 2022, arXiv:2201.03297; official g_ghost_regnetx_032) on
# Fashion-MNIST (60k train / 10k test, 28 x 28 grey), the shared 5-epoch recipe of the
# efficient-backbone configs. Small-image stem: the paper's first conv has stride 2 (total stride
# 32, 224 px -> 7 x 7); on 28 px images it has stride 1 (total stride 16, last map 2 x 2), as every
# issue-3 backbone here. Head as in the official code: global pooling, dropout 0.2, linear classifier
# on the 1008 channels of the last stage.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fashion_mnist_backbones.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='GGhostRegNet', arch='3.2gf', in_channels=1, stem_stride=1, out_indices=(3,)),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=1008, dropout=0.2),
)
