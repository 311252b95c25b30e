# The C2D baseline of c3d_resnet18-w16_moving-digits.py: the same 3D ResNet-18 with 1x3x3 convs and a 1x7x7 stem
# (no temporal kernel anywhere) plus mmaction2 C2D's only temporal operation, a 2x1x1 max pool of stride 2 after
# stage 1. Same data, width and schedule.
_base_ = ['./c3d_resnet18-w16_moving-digits.py']
model = dict(backbone=dict(variant='c2d'))
