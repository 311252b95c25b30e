# HCN (the paper's layer table, both streams, multi-person max-out) on the SYNTHETIC NTU-layout skeleton actions
# (not real data: 6 actions, 25 joints, 2 persons (the second all zeros), 32 frames; cross-subject split, 216 train
# / 144 test samples). The official optimiser (Adam lr 1e-3, weight decay 1e-4, 10x on fc7, as the authors'
# institute's hcn_ntu60_xsub_joint.py) and step decay at 70 / 86 / 94 % of training (their 350 / 430 / 470 of 500
# epochs), shortened to 60 epochs of batches of 16 (840 iterations). Inputs centred on the first person's spine
# joint per frame (the official pre-normalisation's centring).
_base_ = ['../_base_/datasets/synthetic_skeletons.py', '../_base_/default_runtime.py']
clip_len = 32
model = dict(
    type='RecognizerGCN',
    data_preprocessor=dict(type='SkeletonDataPreprocessor'),
    backbone=dict(type='HCN', in_channels=3, num_joints=25, clip_len=clip_len, transpose=True),
    cls_head=dict(type='I3DHead', num_classes=6, in_channels=256, dropout=0.0, init_std=0.01,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
pipeline = [dict(type='PoseCentralize', center_joint=1), dict(type='PackActionInputs')]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = val_dataloader
max_epochs = 60
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(custom_keys={'backbone.fc7': dict(decay_mult=10.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[42, 52, 56], gamma=0.1, begin=0,
                        end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=14))
