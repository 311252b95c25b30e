# Ablation: the relative-speed task alone (appearance loss weight 0; the official `A0` setting).
_base_ = ['./rspnet_c3d-resnet18-w16_moving-digits-pretrain.py']
model = dict(loss_weights=dict(avid=0.0, rsp=1.0))
