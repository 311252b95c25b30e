# CoST(a) ResNet-18 (quarter width) on the 8-direction moving digits: c2d_resnet18-w16_moving-digits-8dir.py
# with every basic-block 3x3 conv a CoST(a) unit (one shared 3x3 kernel on the H-W, T-W and T-H views, fused by
# learned per-channel coefficients softmax(alpha) over the views, alpha initialised (0.7, -0.7, -0.7)).
_base_ = ['./c2d_resnet18-w16_moving-digits-8dir.py']
model = dict(backbone=dict(st_conv='costa', inflate=(1, 1, 1, 1)))
