# CutMix (Yun et al., ICCV 2019, arXiv:1905.04899), alpha 1, on every training batch, in the
# overfitting setting of resnet18-w16_none_fashion-mnist-1k.py (first 1,000 training images,
# 40 epochs = 640 iterations): the batch augment of resnet18-w16_cutmix_fashion-mnist-4k.py unchanged.
_base_ = './resnet18-w16_none_fashion-mnist-1k.py'
model = dict(data_preprocessor=dict(
    num_classes=10,
    batch_augments=dict(augments=[dict(type='CutMix', alpha=1.0, correct_lam=True)], probs=[1.0])))
