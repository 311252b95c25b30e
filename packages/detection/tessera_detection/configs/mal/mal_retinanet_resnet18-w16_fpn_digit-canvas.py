# MAL (Multiple Anchor Learning, arXiv:1912.02252) on the RetinaNet of
# ../digit_canvas/retinanet_resnet18-w16_fpn_digit-canvas.py: same backbone, neck, head layers, anchors,
# data, optimiser and 600-iteration schedule; the head is trained with MAL (anchor bags, selection by the
# joint confidence with the all-to-top-1 schedule, feature depression with the official ratio schedule).
# See README.md for what is official and what differs.
_base_ = ['../digit_canvas/retinanet_resnet18-w16_fpn_digit-canvas.py']

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='MALRetinaHead', num_classes=10, in_channels=64, stacked_convs=2, feat_channels=64,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=3, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32]),
        # official: BoxCoder weights (10, 10, 5, 5) = stds (0.1, 0.1, 0.2, 0.2)
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        # the bag losses replace loss_cls (kept only because AnchorHead builds it); the box term of the
        # joint confidence: official BBOX_REG_BETA 0.11, BBOX_REG_WEIGHT 0.75
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.75),
        # official R-50 setting: PRE_ANCHOR_TOPK 40, BBOX_THRESHOLD 0.6, FOCAL_LOSS_ALPHA 0.5, GAMMA 2.0
        bag_size=40, bbox_thr=0.6, alpha=0.5, gamma=2.0,
        selection_schedule='all-to-top-1', depression_schedule='step-up-down', depression_kept_share=0.25,
        # official PRIOR_PROB 0.02
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.01,
                      override=dict(type='Normal', name='retina_cls', std=0.01, bias_prob=0.02))))

custom_hooks = [
    dict(type='MALScheduleHook'),  # t / T for the bag-size and depression schedules
    dict(type='DetectionGridHook', num_images=8, scale=4, score_thr=0.3),
]
