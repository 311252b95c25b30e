# MAL at the paper's / official code's COCO setting (configs/mal_R-50-FPN.yaml of github.com/DeLightCMU/MAL):
# RetinaNet R-50-FPN (P3-P7), 800 px, batch 16, SGD lr 0.01, weight decay 1e-4, 500 warm-up iterations
# (factor 1/3), 135k iterations with steps at 90k and 120k; FreeAnchor bag losses with PRE_ANCHOR_TOPK 40,
# BBOX_THRESHOLD 0.6, BBOX_REG_WEIGHT 0.75, alpha 0.5, gamma 2, PRIOR_PROB 0.02; inverted-attention
# depression IA_TYPE 5, MASK_TYPE 0. NOT RUN here (no COCO, no GPU): expects COCO 2017 in data/coco/ and
# mmdet's ImageNet-pretrained ResNet-50 checkpoint (torchvision://resnet50) in the torch hub cache.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']
default_scope = 'tessera_detection'

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='tessera_detection.MALRetinaHead', num_classes=80, in_channels=256, stacked_convs=4, feat_channels=256,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.75),
        bag_size=40, bbox_thr=0.6, alpha=0.5, gamma=2.0,
        selection_schedule='all-to-top-1', depression_schedule='step-up-down', depression_kept_share=0.25,
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.01,
                      override=dict(type='Normal', name='retina_cls', std=0.01, bias_prob=0.02))))

max_iters = 135000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
train_dataloader = dict(batch_size=2, sampler=dict(type='InfiniteSampler', shuffle=True))  # x 8 GPUs = 16
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[90000, 120000], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000))
log_processor = dict(by_epoch=False)
custom_hooks = [dict(type='tessera_detection.MALScheduleHook')]
