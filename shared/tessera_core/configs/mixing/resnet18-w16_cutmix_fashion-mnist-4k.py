# CutMix (Yun et al., ICCV 2019, arXiv:1905.04899) as a batch augment of the data preprocessor, on
# the shared recipe of resnet18-w16_none_fashion-mnist-4k.py: every training batch gets a box of a
# permutation of itself pasted in, lam ~ Beta(1, 1) (the paper's alpha), labels weighted by the
# pasted box's exact area (correct_lam).
_base_ = './resnet18-w16_none_fashion-mnist-4k.py'
model = dict(data_preprocessor=dict(
    num_classes=10,
    batch_augments=dict(augments=[dict(type='CutMix', alpha=1.0, correct_lam=True)], probs=[1.0])))
