# FANet (Liu et al., TIP 2021, arXiv:1910.11547) on the strong baseline of
# strong_baseline/strong-baseline_resnet18-w16_camstyle-fashion.py (quarter-width ResNet-18, 3x3 stem, last stride 1:
# 8x8 final map on the 32x32 canvases; label-smoothed ID + batch-hard triplet + center loss, PK 8 x 4, random erasing,
# 6 epochs Adam 1e-3, 1-epoch warm-up, x0.1 after epoch 5), CamStyle-ReID fashion domain.
# The head learns a soft mask M on the final map: foreground branch GAP(M X) -> BNNeck + ID / triplet / center
# losses (the inference embedding), background branch GAP((1 - M) X) -> BN -> camera-ID loss, target attention loss
# (identity classifier on the background feature -> uniform) and, as the issue asks, supervision of M by the true
# foreground mask (area-averaged to 8x8). The masks follow the shift and the erasing (RandomShiftCropWithMask,
# EraseMask) and are packed by PackReIDInputs; validation also scores the mask against the true one (mask/IoU).
_base_ = ['../strong_baseline/strong-baseline_resnet18-w16_camstyle-fashion.py']
meta_keys = ('sample_idx', 'img_shape', 'camid', 'is_query')
train_pipeline = [
    dict(type='RandomShiftCropWithMask', padding=2),
    dict(type='RandomErasing', prob=0.5, value=128),
    dict(type='EraseMask'),
    dict(type='PackReIDInputs', meta_keys=meta_keys),
]
test_pipeline = [dict(type='PackReIDInputs', meta_keys=meta_keys)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    type='FANetReIDModel',
    neck=None,
    head=dict(
        _delete_=True, type='FANetHead', num_classes=500, in_channels=128, num_cameras=6,
        loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.1),
        loss_triplet=dict(type='TripletLoss', margin=0.3),
        loss_center=dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5),
        loss_camera=dict(type='LabelSmoothLoss', label_smooth_val=0.0),
        loss_tal=dict(type='TargetAttentionLoss', loss_weight=1.0),
        loss_mask=dict(type='SoftMaskLoss', loss_weight=1.0),
        neck_feat='after', normalize=True, topk=(1,)))
val_evaluator = [dict(type='ReIDMetric', topk=(1, 5, 10), distance='euclidean', with_minp=True),
                 dict(type='ForegroundMaskMetric', thr=0.5)]
test_evaluator = val_evaluator
