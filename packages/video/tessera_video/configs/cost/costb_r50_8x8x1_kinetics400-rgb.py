# CoST(b) ResNet-50 at the paper's Kinetics-400 setting, after the official costb_r50_8x8x1_160e_kinetics400_rgb.py
# (hikvision-research/cost): 8 frames with interval 8, 224 crops, SGD lr 0.01 for 8 GPUs x 8 clips (momentum 0.9,
# weight decay 1e-4, gradient clipping 40), steps at epochs 80 and 120 of 160; CoST units in every other
# bottleneck (ResNet3dCoST's INFLATE[50]); 10 clips at test time. Data: Kinetics-400 videos with mmaction2 list
# files under data/kinetics400/ (not shipped; nothing is downloaded). Not trained here.
# Differences from the official config: ImageNet initialisation of the 2D weights is not loaded (no download at
# run time: pass a checkpoint with init_cfg), no RandomRescale(256, 320) / Flip / ThreeCrop (not implemented in
# this package): Resize to short side 256 + RandomCrop 224 for training, CenterCrop 224 for testing.
_base_ = ['../_base_/default_runtime.py']
model = dict(
    type='Recognizer3D',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'),
    backbone=dict(type='ResNet3dCoST', depth=50, st_conv='costb', in_channels=3, base_channels=64,
                  stem='imagenet', zero_init_residual=False),
    cls_head=dict(type='I3DHead', num_classes=400, in_channels=2048, dropout=0.5, init_std=0.01,
                  average_clips='prob', loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1, 5)),
)
data_root = 'data/kinetics400'
train_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1),
    dict(type='VideoDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomCrop', size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1, test_mode=True),
    dict(type='VideoDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='VideoInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=10, test_mode=True),
    dict(type='VideoDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/kinetics400_train_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_train'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=8, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/kinetics400_val_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_val'), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=f'{data_root}/kinetics400_val_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_val'), pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
max_epochs = 160
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[80, 120], gamma=0.1, begin=0,
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5), logger=dict(interval=20))
auto_scale_lr = dict(enable=False, base_batch_size=64)
