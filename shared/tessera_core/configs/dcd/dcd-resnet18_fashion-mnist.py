# DCD ResNet-18 (Li et al., ICLR 2021, arXiv:2103.08756) on Fashion-MNIST (60k train / 10k test,
# 28 x 28 grey), the shared 5-epoch recipe of the efficient-backbone configs, so it compares
# directly with ../resnet/resnet18_fashion-mnist.py (the same network with static convs).
# As in the official resnet18_dcd, both 3x3 convs of every basic block are DCD convs
# (W(x) = Lambda(x) W0 + P Phi(x) Q^T, latent size L = floor(2 sqrt(C_in)), 2 x 2 pooled dynamic
# branch); the stem and the 1x1 shortcuts stay static. Small-image stem: one 3x3/2 conv instead
# of the 7x7/2 conv + max-pool (total stride 16, last map 2 x 2). Head: global average pooling
# and a linear classifier (the official code's dynamic classifier DYCls is not used).
_base_ = '../resnet/resnet18_fashion-mnist.py'
model = dict(backbone=dict(type='DCDResNet'))
