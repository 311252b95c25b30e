# Mixup (Zhang et al., ICLR 2018, arXiv:1710.09412), alpha 1, on every training batch, in the
# overfitting setting of resnet18-w16_none_fashion-mnist-1k.py (first 1,000 training images,
# 40 epochs = 640 iterations): the batch augment of resnet18-w16_mixup_fashion-mnist-4k.py unchanged.
_base_ = './resnet18-w16_none_fashion-mnist-1k.py'
model = dict(data_preprocessor=dict(
    num_classes=10,
    batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)], probs=[1.0])))
