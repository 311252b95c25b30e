# Memorized Batch Normalization with Double-Forward (Guo et al., AAAI 2018, arXiv:2010.04947) at
# batch size 4 on Fashion-MNIST: resnet18-w16_fashion-mnist-bs4.py (its BatchNorm twin, same
# network, data and recipe) with every BatchNorm replaced by MemorizedBatchNorm2d, which
# normalises with the statistics of the k = 4 most recent mini-batches (16 images) pooled as one
# batch, in training and in inference alike, and the Double-Forward hook: after each SGD step the
# batch is forwarded once more (no backward) and its memorised statistics are replaced by those
# of the updated network.
_base_ = './resnet18-w16_fashion-mnist-bs4.py'
model = dict(backbone=dict(norm_cfg=dict(type='MBN', memory_size=4)))
custom_hooks = [dict(type='MBNDoubleForwardHook')]
