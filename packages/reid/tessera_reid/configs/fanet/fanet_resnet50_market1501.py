# FANet at the paper's setting as far as it is known here (Liu et al., TIP 2021, arXiv:1910.11547: ResNet-50,
# Market-1501, ID + camera supervision, target attention loss, no mask annotation), on the strong baseline's
# Market-1501 recipe (bnneck/bnneck_resnet50_market1501.py: last stride 1, 256x128, flip + 10 px pad/crop + random
# erasing, P=16 x K=4, Adam 3.5e-4, 10 warm-up epochs, x0.1 at epochs 40 and 70, 120 epochs). The soft mask acts on
# the 16x8 conv5 map. Market-1501 has no foreground masks, so there is no mask supervision (the paper has none).
# Not run here: it needs the Market-1501 release in data/market1501 and ImageNet-pretrained weights
# (load_from / init_cfg), neither of which is shipped or downloaded.
_base_ = ['../bnneck/bnneck_resnet50_market1501.py']
model = dict(
    type='FANetReIDModel',
    neck=None,
    head=dict(
        _delete_=True, type='FANetHead', num_classes=751, in_channels=2048, num_cameras=6, mask_channels=256,
        loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.1),
        loss_triplet=dict(type='TripletLoss', margin=0.3),
        loss_camera=dict(type='LabelSmoothLoss', label_smooth_val=0.0),
        loss_tal=dict(type='TargetAttentionLoss', loss_weight=1.0),
        loss_mask=None,
        neck_feat='after', normalize=True, topk=(1,)))
