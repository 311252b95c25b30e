# The feature network of the generative metrics on Fashion-MNIST: the digits network of
# ../feature_nets/featnet-w32_embedded-digits.py (ConvFeatureNet 'w32', 64-d pooled features, linear
# 10-class head, AdamW 5e-3, 6 epochs, 2 px shifts) trained on the same real data the Fashion-MNIST GAN
# configs train on (the first 4,000 training images of Debian's dataset-fashion-mnist, tessera-core's
# FashionMNIST dataset) and tested on the first 1,000 test images (the GANs' evaluation set).
# Its checkpoint is cached as featnet-w32_fashion-mnist_<hash of this config>.pth, a name of its own, so the
# metrics never load the digits network for Fashion-MNIST images (or the reverse).
_base_ = ['../feature_nets/featnet-w32_embedded-digits.py']

fashion_root = '/usr/share/datasets/fashion-mnist'
train_dataloader = dict(dataset=dict(
    _delete_=True, type='FashionMNIST', data_root=fashion_root, split='train', indices=4000,
    pipeline=[dict(type='RandomShiftCrop', padding=2), dict(type='PackClsInputs')]))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='FashionMNIST', data_root=fashion_root, split='test', indices=1000,
    pipeline=[dict(type='PackClsInputs')]))
test_dataloader = val_dataloader
