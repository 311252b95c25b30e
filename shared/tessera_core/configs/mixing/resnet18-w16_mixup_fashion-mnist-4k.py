# Mixup (Zhang et al., ICLR 2018, arXiv:1710.09412) as a batch augment of the data preprocessor, on
# the shared recipe of resnet18-w16_none_fashion-mnist-4k.py: every training batch is mixed with a
# permutation of itself at lam ~ Beta(1, 1) (the paper's CIFAR alpha), the soft labels reach the
# cross-entropy through gt_score.
_base_ = './resnet18-w16_none_fashion-mnist-4k.py'
model = dict(data_preprocessor=dict(
    num_classes=10,
    batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)], probs=[1.0])))
