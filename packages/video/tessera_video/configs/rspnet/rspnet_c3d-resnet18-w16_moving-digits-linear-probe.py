# Linear probe of an RSPNet-pretrained backbone on moving-digit directions (4 classes, the resnet3d config's data:
# 8-frame 48x48 clips, one random 4-frame window in training, 2 views at test): the backbone is frozen (no gradient,
# BatchNorm in eval mode), only the linear classifier trains. Set the checkpoint with
# --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/rspnet/epoch_8.pth
_base_ = ['../resnet3d/c3d_resnet18-w16_moving-digits.py']
pretrained = 'work_dirs/rspnet/epoch_8.pth'
model = dict(type='LinearProbeRecognizer3D',
             backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
             cls_head=dict(dropout=0.0))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
