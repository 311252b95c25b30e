# CenterNet++, multi-resolution variant (PyCenterNet, arXiv:2204.08394) on the CornerNet/CenterNet++ baseline of
# ../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py: same backbone, FPN (now all three levels, strides 8,
# 16, 32, as the official 3-level configs), data, optimiser and 600-iteration schedule. The head is
# PyCenterNetHead (models/dense_heads/pycenternet_head.py): corner point sets regressing corner + center,
# keypoint heatmaps refining the corners, a semantic map, ATSS refine targets, center-region corner matching.
# Official defaults: configs/pycenternet/pycenternet_r50_fpn_giou_1x_coco.py; what is scaled is marked and
# explained in README.md.
_base_ = ['../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py']

norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='mmdet.RepPointsDetector',
    bbox_head=dict(
        _delete_=True,
        type='PyCenterNetHead', num_classes=10, in_channels=64,
        feat_channels=64, point_feat_channels=64,  # official 256 (= its FPN width); here the FPN's 64
        stacked_convs=3, shared_stacked_convs=1, first_kernel_size=3, kernel_size=1,
        corner_dim=32,  # official 64 = feat / 4; 32 is the smallest width GN(32) allows
        num_points=9, gradient_mul=0.1, point_strides=[8, 16, 32], point_base_scale=4, norm_cfg=norm_cfg,
        conv_module_style='norm',  # official option ("norm is faster"); its COCO 1x config uses 'dcn'
        corner_pool='plain', center_pool=False,  # official: plain corner pooling, 3x3 conv for the center
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox_init=dict(type='GIoULoss', loss_weight=1.0),
        loss_bbox_refine=dict(type='GIoULoss', loss_weight=2.0),
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.25),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
        loss_sem=dict(gamma=2.0, alpha=0.25, loss_weight=0.1)),
    train_cfg=dict(
        _delete_=True,
        # official scale=4 sends every half-box of the 20-48 px digits (10-24 px) to stride 8; scale=1 puts
        # the same relative sizes on strides 8 and 16 (digits 16-32 px -> 8, 32-64 px -> 16), see README
        init=dict(assigner=dict(type='PointAssigner', scale=1, pos_num=1), allowed_border=-1, pos_weight=-1),
        heatmap=dict(gaussian_iou=0.7),
        refine=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1)),
    test_cfg=dict(
        _delete_=True,
        nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100,
        distance_threshold=0.5,
        # official: mu = 1/5 up to 3500 px^2 in COCO image pixels, 1/4 above; scaled by (128 / 640)^2 as the
        # hourglass CenterNet++ config scales its 22500 px^2 (README: both thresholds measured)
        central_region_area_thr=140.0, central_region_mu=(0.2, 0.25)))
