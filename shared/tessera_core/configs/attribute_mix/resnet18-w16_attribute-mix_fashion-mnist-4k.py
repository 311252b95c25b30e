# Attribute Mix (Li, Zhang, Xiong, Tian, VCIP 2020, arXiv:2004.02684) on the shared recipe of
# ../mixing/resnet18-w16_none_fashion-mnist-4k.py (quarter-width ResNet-18, first 4,000 Fashion-MNIST
# training images, 4 epochs). The miner is that baseline, trained first:
#   mim train tessera-core mixing/resnet18-w16_none_fashion-mnist-4k.py --work-dir work_dirs/none-4k
# then (pass another checkpoint with --cfg-options model.miner_checkpoint=PATH):
#   mim train tessera-core attribute_mix/resnet18-w16_attribute-mix_fashion-mnist-4k.py
# k = 3 attributes per image (CAM of the true class, region theta = 0.5 of its range around the peak,
# erased before the next one), every batch mixed with a permutation of itself, soft labels weighted
# by the pasted attribute's area through the head's soft-label cross-entropy.
_base_ = '../mixing/resnet18-w16_none_fashion-mnist-4k.py'
_classifier = dict(
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16, out_indices=(3,)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]))
model = dict(
    type='AttributeMixClassifier',
    miner=dict(type='ImageClassifier', **_classifier),
    miner_checkpoint='work_dirs/none-4k/epoch_4.pth',
    num_attributes=3,
    threshold=0.5,
    prob=1.0,
    fill=0.0,
)
