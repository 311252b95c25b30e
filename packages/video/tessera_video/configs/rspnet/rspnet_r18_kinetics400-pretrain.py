# RSPNet at the official setting (config/pretrain/resnet18.jsonnet + moco-train-base.jsonnet): 3D ResNet-18 (C3D-style
# here; the official resnet18 is the 3D ResNet of Hara et al.) on Kinetics-400 RGB videos, clips of 16 frames at
# speeds 1 and 2 from 32-frame windows, 112x112 crops, batch 64, queue 16,384, EMA 0.999, temperature 0.07, margin 2,
# loss weights 1 / 1, SGD lr 0.1 momentum 0.9 weight decay 1e-4, cosine to lr / 1000 over 200 epochs.
# Needs data/kinetics400/train_list.txt (mmaction2 `path label` lines) and the videos; not run here (planned).
# Official spatial augmentation (random resized crop of 0.4-1 of the area, grey 0.2, colour jitter 0.4, flip) is
# approximated by Resize + RandomCrop (see README).
_base_ = ['../_base_/default_runtime.py']
model = dict(
    type='RSPNet',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           format_shape='NCTHW'),
    backbone=dict(type='ResNet3d', depth=18, variant='c3d', in_channels=3, base_channels=64, stem='imagenet'),
    in_channels=512, embed_dim=128, queue_len=16384, momentum=0.999, temperature=0.07, margin=2.0,
    loss_weights=dict(avid=1.0, rsp=1.0))
train_pipeline = [
    dict(type='VideoInit'),
    dict(type='RSPSampleFrames', clip_len=16, speeds=(1, 2)),
    dict(type='VideoDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomCrop', size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'speeds', 'window_starts')),
]
train_dataloader = dict(
    batch_size=64, num_workers=8, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file='data/kinetics400/train_list.txt',
                 data_prefix=dict(video='data/kinetics400/videos'), pipeline=train_pipeline))
max_epochs = 200
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.1 / 1000, by_epoch=True, begin=0,
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=50))
