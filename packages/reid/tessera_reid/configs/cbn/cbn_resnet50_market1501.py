# The paper's setting (Zhuang et al., ECCV 2020, arXiv:2001.08680; official config.py, train_model.py,
# optimizers.py): ResNet-50 (ImageNet stem) with last stride 1, every BatchNorm camera-based (cumulative running
# average, momentum=None) incl. the BNNeck (bias frozen), bias-free ID classifier trained with plain cross-entropy
# only (no label smoothing, no triplet), 256x128 inputs, flip + 10 px pad/crop, P=16 x K=4 (batch 64), SGD lr 0.01,
# momentum 0.9, weight decay 5e-4, lr x0.1 at epoch 40, 60 epochs; at test the per-camera statistics are
# re-estimated on 50 x 64 = 3,200 images per test camera (with flips). Market-1501's 6 cameras.
# Not run here: it needs the Market-1501 release in data/market1501 and ImageNet-pretrained weights
# (load_from / init_cfg), neither of which is shipped or downloaded.
_base_ = ['../bnneck/bnneck_resnet50_market1501.py']
model = dict(
    type='CBNReIDModel', num_cameras=6, momentum=None, unseen_camera='error', drop_single_camera_samples=True,
    head=dict(loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.0), loss_triplet=None, neck_feat='after'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomShiftCrop', padding=10),
    dict(type='PackClsInputs', meta_keys=('sample_idx', 'img_path', 'img_shape', 'camid', 'is_query')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_epochs = 60
optim_wrapper = dict(_delete_=True, optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', milestones=[40], gamma=0.1, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = [dict(type='CameraBNStatsHook', num_per_camera=3200, batch_size=64, flip=True, seed=0)]
