# Fine-tuning of an RSPNet-pretrained backbone on moving-digit directions: the resnet3d config (all layers train)
# started from the pretrained backbone. Set the checkpoint with
# --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/rspnet/epoch_8.pth
_base_ = ['../resnet3d/c3d_resnet18-w16_moving-digits.py']
pretrained = 'work_dirs/rspnet/epoch_8.pth'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
