# The paper's setting (Luo et al., arXiv:1903.07071, "all tricks without center loss"): ResNet-50 with last
# stride 1, BNNeck, label smoothing 0.1, triplet margin 0.3, 256x128 inputs, P=16 x K=4, random erasing, Adam
# 3.5e-4 with 10 warm-up epochs, x0.1 at epochs 40 and 70, 120 epochs, cosine-ranked post-BN features.
# Not run here: it needs the Market-1501 release in data/market1501 and ImageNet-pretrained weights
# (load_from / init_cfg), neither of which is shipped or downloaded.
_base_ = [
    '../_base_/models/bnneck_resnet18_small.py',
    '../_base_/datasets/market1501.py',
    '../_base_/schedules/adam_warmup_step.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=50, in_channels=3, stem='imagenet', base_channels=64,
                  strides=(1, 2, 2, 1)),  # last stride 1
    head=dict(num_classes=751, in_channels=2048))
