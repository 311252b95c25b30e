# Rotated RetinaNet ('rbox' / 'obb' of mmrotate 1.x, le90) with smooth-L1 on the (dx, dy, dw, dh, da) deltas:
# the baseline of GWD and KLD. mmdet's RetinaNet + RetinaHead (RotatedRetinaHead only changes the
# post-processing for (N, 5) boxes), horizontal anchors written as le90 rotated boxes, the rotated delta coder,
# MaxIoUAssigner on rotated IoU (mmcv.ops.box_iou_rotated), nms_rotated at test. Backbone, neck, anchors and
# schedule as the axis-aligned digit-canvas RetinaNet; data: the rotated digit canvases, DOTAMetric.
_base_ = ['../_base_/datasets/rotated_digit_canvas.py', '../_base_/default_runtime.py']
custom_imports = dict(imports=['tessera_core.models'], allow_failed_imports=False)
angle_version = 'le90'

model = dict(
    type='RetinaNet',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                           bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='tessera_core.ResNet', depth=18, in_channels=3, stem='imagenet', base_channels=16,
                  out_indices=(1, 2, 3), frozen_stages=-1, norm_eval=False),
    neck=dict(type='FPN', in_channels=[32, 64, 128], out_channels=64, start_level=0, num_outs=3),
    bbox_head=dict(
        type='RotatedRetinaHead', num_classes=10, in_channels=64, stacked_convs=2, feat_channels=64,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        # mmdet's anchors (24-38 px at stride 8, 48-76 px at stride 16) as (cx, cy, w, h, 0) / (.., -pi/2)
        anchor_generator=dict(type='RotatedAnchorGenerator', angle_version=angle_version, octave_base_scale=3,
                              scales_per_octave=3, ratios=[1.0, 0.5, 2.0], strides=[8, 16, 32]),
        # mmrotate's rbox-le90 RetinaNet coder settings
        bbox_coder=dict(type='DeltaXYWHTRBBoxCoder', angle_version=angle_version, norm_factor=None,
                        edge_swap=True, proj_xy=True, target_means=(0.0, 0.0, 0.0, 0.0, 0.0),
                        target_stds=(1.0, 1.0, 1.0, 1.0, 1.0)),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        # the baseline the GWD / KLD papers compare with: smooth L1 on the deltas (beta 1/9 as Detectron's RetinaNet)
        reg_decoded_bbox=False,
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1,
                      iou_calculator=dict(type='RBboxOverlaps2D')),
        sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms_rotated', iou_threshold=0.1),
                  max_per_img=100))

max_iters = 600
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, T_max=max_iters - 50),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
