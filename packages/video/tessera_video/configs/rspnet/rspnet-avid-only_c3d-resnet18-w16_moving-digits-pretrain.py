# Ablation: appearance-focused video instance discrimination alone (speed loss weight 0; the official `M0` setting).
_base_ = ['./rspnet_c3d-resnet18-w16_moving-digits-pretrain.py']
model = dict(loss_weights=dict(avid=1.0, rsp=0.0))
