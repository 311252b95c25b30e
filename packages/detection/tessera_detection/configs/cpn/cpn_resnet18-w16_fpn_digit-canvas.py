# CPN (Corner Proposal Network, arXiv:2007.13816) on the CornerNet baseline
# ../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py: same backbone (tessera_core.ResNet-18, 16 base
# channels, from scratch), FPN P3 (stride 8, 16x16 maps on the 128 px canvases), corner pooling, heatmap and
# offset layers and losses, data, AdamW and 600-iteration schedule. The associative embeddings are replaced
# by CPN's corner-pair proposals and its two RoIAlign classifiers, at the official settings (CPNDet's configs;
# RoIAlign sampling ratio 1 as its HG-104 / DLA-34). See README.md for what is official and what differs.
_base_ = ['../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py']

model = dict(
    type='CPN',
    bbox_head=dict(
        _delete_=True,
        type='CPNHead', num_classes=10, in_channels=64, num_feat_levels=1,
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1),
        # official: top_k 70 corners of each type, 3x3 peaks, gr_threshold 0.2
        num_corners=70, local_maximum_kernel=3, reject_thr=0.2, allow_equal_corners=False,
        # official: 32-channel binary map, multi-class map = the head's input channels (256 there, 64 here),
        # RoIAlign 7x7 with 1 sample per bin (HG-104 and DLA-34; HG-52: 2), BN
        binary_channels=32, class_channels=64, roi_size=7, sampling_ratio=1,
        stage2_norm_cfg=dict(type='BN', requires_grad=True),
        # official: CornerNet's focal loss (_neg_loss) for both classifiers, added with weight 1 to the SUM of
        # the top-left and bottom-right heatmap (and offset) losses; mmdet's CornerHead (kept as the baseline's)
        # averages the two, so weight 0.5 here keeps the official ratio
        loss_binary=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.5),
        loss_class=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.5)),
    # official db/detection.py: MaxIoUAssigner 0.7 / 0.7 / min 0.5; RandomSampler of all positives and the
    # ground truths. Official budget 4900 = every proposal; 512 per image here (CPU: mmcv's RoIAlign backward
    # dominates), the sampled negatives weighted by negatives / sampled so the loss estimates the official one
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.7, min_pos_iou=0.5, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=512, pos_fraction=1.0, neg_pos_ub=-1, add_gt_as_proposals=True)),
    # official: the 1000 best combined scores (> 0) go to soft-NMS; 100 per image. The soft-NMS is the
    # baseline's (mmdet's Gaussian soft-NMS), so both detectors share their post-processing.
    test_cfg=dict(_delete_=True, num_dets=1000, score_thr=0.0, max_per_img=100,
                  nms=dict(type='soft_nms', iou_threshold=0.5, method='gaussian')))
