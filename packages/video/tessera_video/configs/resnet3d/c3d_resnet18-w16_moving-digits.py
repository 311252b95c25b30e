# C3D-style 3D ResNet-18 (3x3x3 convs, quarter width: 16 base channels, ImageNet stem: 48 px -> 12 px at
# stage 1) on the moving digits (8-frame 48x48 clips, 4 directions of motion). Train on one random 4-frame window
# per clip; test on 2 views (frames 0-3 and 4-7, SampleFrames' test rule) whose softmax scores are averaged.
# The loading pipeline is the one for video files (VideoInit -> SampleFrames -> VideoDecode -> FormatShape ->
# PackActionInputs), here over the in-memory clips. 2 epochs of 4,000 clips (500 iterations of 16).
# Compare with c2d_resnet18-w16_moving-digits.py (the same network with 1x3x3 convs).
_base_ = [
    '../_base_/models/resnet3d18_c3d.py',
    '../_base_/datasets/moving_digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
clip_len = 4
model = dict(backbone=dict(base_channels=16), cls_head=dict(in_channels=128))
train_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=1),
    dict(type='VideoDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=2, test_mode=True),
    dict(type='VideoDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
max_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=50))
