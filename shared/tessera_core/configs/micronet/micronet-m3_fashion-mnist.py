# MicroNet-M3 on Fashion-MNIST (60k train / 10k test, 28 x 28 grey), the shared
# 5-epoch recipe of the efficient-backbone configs. Small-image stem: the paper's
# stem (3x1 conv + 1x3 group conv) has stride 2 (total stride 32, 224 px -> 7 x 7);
# on 28 px images it has stride 1 (total stride 16, last map 2 x 2), as every
# issue-3 backbone here. Head as in the official code (OUT_CH 1024, DROPOUT 0.1):
# ReLU6, global pooling, h-swish, Linear-BN-h-swish 864 -> 1024, dropout,
# Linear-BN-h-swish to the classes; it pools the backbone map itself (no neck).
_base_ = './micronet-m1_fashion-mnist.py'
model = dict(
    backbone=dict(arch='m3'),
    head=dict(in_channels=864, mid_channels=1024, dropout=0.1),
)
