# HCN on NTU RGB+D 60, cross-subject, at the paper's setting: 32-frame sequences (random 50-100 % windows resized to
# 32 frames in training, the central 90 % in testing, as the authors' institute's pipeline), 2 persons, the
# coordinates and their frame differences, Adam lr 1e-3 with weight decay 1e-4 (10x on fc7), batch 64, step decay
# at epochs 350 / 430 / 470 of 500 (the authors' institute's hcn_ntu60_xsub_joint.py, which uses 64 frames and
# batches of 2 x 32; the paper: 32 frames, batch 64). Data: mmaction2 / pyskl's ntu60_3danno.pkl (split 'xsub_train'
# / 'xsub_val', keypoint (M, T, 25, 3) metres) under data/ntu60/, not shipped (nothing is downloaded); not trained
# here. Difference from the official preprocessing: only its centring (PoseCentralize) is applied, not its rotation
# of the first frame's spine to z and shoulders to x.
_base_ = ['../_base_/default_runtime.py']
clip_len = 32
model = dict(
    type='RecognizerGCN',
    data_preprocessor=dict(type='SkeletonDataPreprocessor'),
    backbone=dict(type='HCN', in_channels=3, num_joints=25, clip_len=clip_len, transpose=True),
    cls_head=dict(type='I3DHead', num_classes=60, in_channels=256, dropout=0.0, init_std=0.01,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1, 5)),
)
ann_file = 'data/ntu60/ntu60_3danno.pkl'
train_pipeline = [
    dict(type='PoseCentralize', center_joint=1),
    dict(type='PoseRandomCrop', min_ratio=0.5, max_ratio=1.0, min_len=clip_len),
    dict(type='PoseResize', clip_len=clip_len),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='PoseCentralize', center_joint=1),
    dict(type='PoseCenterCrop', clip_ratio=0.9),
    dict(type='PoseResize', clip_len=clip_len),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='PoseDataset', ann_file=ann_file, split='xsub_train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PoseDataset', ann_file=ann_file, split='xsub_val', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
max_epochs = 500
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(custom_keys={'backbone.fc7': dict(decay_mult=10.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[350, 430, 470], gamma=0.1, begin=0,
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5), logger=dict(interval=100))
