# RetinaNet (mmdet's detector, FPN, RetinaHead, focal loss, MaxIoUAssigner, CocoMetric) on a
# quarter-width ResNet-18 of tessera-core (base_channels=16, trained from scratch), on 1,000
# generated 128x128 digit canvases; 600 iterations of batch 16 on CPU, evaluated on 200 val
# canvases made of held-out digits. See README.md for the measured numbers.
_base_ = ['../_base_/datasets/digit_canvas.py', '../_base_/default_runtime.py']
# tessera_core.ResNet lives in tessera-core's registry: import it (resolved as `tessera_core.ResNet`).
custom_imports = dict(imports=['tessera_core.models'], allow_failed_imports=False)

model = dict(
    type='RetinaNet',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                           bgr_to_rgb=True, pad_size_divisor=32),
    # 'imagenet' stem (7x7/2 conv + max-pool): stages 1, 2, 3 have strides 8, 16, 32 and
    # 32, 64, 128 channels; on a 128 px canvas: 16x16, 8x8 and 4x4 maps.
    backbone=dict(type='tessera_core.ResNet', depth=18, in_channels=3, stem='imagenet', base_channels=16,
                  out_indices=(1, 2, 3), frozen_stages=-1, norm_eval=False),
    neck=dict(type='FPN', in_channels=[32, 64, 128], out_channels=64, start_level=0, num_outs=3),
    bbox_head=dict(
        type='RetinaHead', num_classes=10, in_channels=64, stacked_convs=2, feat_channels=64,
        # GroupNorm in the head: trains from scratch without a pretrained backbone
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        # digits are 20-48 px (longer side): octave base scale 3 gives anchors of 24, 30, 38 px
        # at stride 8 and 48, 60, 76 px at stride 16; 95 % of the boxes have an anchor of
        # IoU >= 0.5 (tests/test_dataset_and_detector.py checks >= 90 %).
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=3, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
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
# ground truth | detections of 8 val canvases -> {work_dir}/detections.png
custom_hooks = [dict(type='DetectionGridHook', num_images=8, scale=4, score_thr=0.3)]
