# CenterNet++ (keypoint triplets, arXiv:2204.08394) on the CornerNet baseline of
# ../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py: same backbone, FPN, level (P3, stride 8), corner
# branches, losses, data, optimiser, 600-iteration schedule and soft-NMS; the head adds cascade corner pooling,
# the center keypoint branch (center pooling, heatmap, offset) and the central-region verification.
# See README.md for what is official and what differs.
_base_ = ['../cornernet/cornernet_resnet18-w16_fpn_digit-canvas.py']

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='CenterNetPPHead', num_classes=10, in_channels=64, num_feat_levels=1, corner_emb_channels=1,
        cascade_corner_pool=True, pool_feat_channels=128,
        loss_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_embedding=dict(type='AssociativeEmbeddingLoss', pull_weight=0.10, push_weight=0.10),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1),
        # official AELoss: tl, br and ct focal / offset terms summed with equal weights; mmdet's CornerHead
        # averages tl and br (1/2 each), so the center terms get 1/2 too
        loss_center_heatmap=dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.5),
        loss_center_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=0.5),
        center_sigma_ratio=5.0),  # official draw_gaussian(..., delte=5) for the centers
    test_cfg=dict(
        center_topk=100,  # official: the same K for corners and centers
        # official: n = 3 up to 150 x 150 px in COCO image pixels, n = 5 above. On 128 px canvases every digit
        # (20-48 px) is below it, so only n = 3 would act; 30 x 30 = 900 px^2 is the same share of the image
        # as 150 px of a 640 px COCO image (README: both measured)
        central_region_area_thr=900.0, central_region_n=(3, 5), center_verification=True))
