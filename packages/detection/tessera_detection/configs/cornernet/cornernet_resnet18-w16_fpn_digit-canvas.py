# CornerNet (mmdet's CornerNet detector + CornerHead: corner pooling, corner heatmaps, associative embeddings,
# offsets, Gaussian focal loss) on the quarter-width ResNet-18 of tessera-core (base_channels=16, from scratch)
# with the RetinaNet baseline's FPN (strides 8, 16, 32); the head runs on the finest FPN level only
# (num_feat_levels=1, stride 8: a 16x16 map on the 128 px canvases; stride 4 measured 3.3x slower per
# iteration, see README.md). Data, optimiser and 600-iteration schedule of ../digit_canvas/.
# The CenterNet++ and CPN comparisons use this config as their baseline. See README.md.
_base_ = ['../_base_/datasets/digit_canvas.py', '../_base_/default_runtime.py']
custom_imports = dict(imports=['tessera_core.models'], allow_failed_imports=False)

model = dict(
    type='CornerNet',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                           bgr_to_rgb=True, pad_size_divisor=32),
    # as ../digit_canvas/: 'imagenet' stem, stages 1, 2, 3 at strides 8, 16, 32 with 32, 64, 128 channels
    backbone=dict(type='tessera_core.ResNet', depth=18, in_channels=3, stem='imagenet', base_channels=16,
                  out_indices=(1, 2, 3), frozen_stages=-1, norm_eval=False),
    # the head reads feats[0] = P3 (stride 8), which sums the top-down path of all three stages
    neck=dict(type='FPN', in_channels=[32, 64, 128], out_channels=64, start_level=0, num_outs=3),
    bbox_head=dict(
        type='CornerHead', num_classes=10, in_channels=64, num_feat_levels=1, corner_emb_channels=1,
        # mmdet's cornernet_hourglass104 config (= the official CornerNet weights: pull/push 0.1)
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_embedding=dict(type='AssociativeEmbeddingLoss', pull_weight=0.10, push_weight=0.10),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)),
    train_cfg=None,
    # mmdet's CornerNet test settings: top-100 corners, 3x3 local maxima, embedding distance 0.5,
    # Gaussian soft-NMS (sigma 0.5, min score 1e-3 = the official exp_soft_nms), 100 detections
    test_cfg=dict(corner_topk=100, local_maximum_kernel=3, distance_threshold=0.5, score_thr=0.05,
                  max_per_img=100, nms=dict(type='soft_nms', iou_threshold=0.5, method='gaussian')))

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
# COCO AP as the baseline's, plus AR@100 (COCOeval's recall at 100 detections per image)
val_evaluator = dict(metric_items=['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@100'])
test_evaluator = val_evaluator
custom_hooks = [dict(type='DetectionGridHook', num_images=8, scale=4, score_thr=0.3)]
