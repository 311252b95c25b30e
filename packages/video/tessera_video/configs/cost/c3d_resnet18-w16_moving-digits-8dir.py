# C3D baseline of the CoST comparison: c2d_resnet18-w16_moving-digits-8dir.py with every basic-block 3x3 conv a
# full 3x3x3 conv (27 C_in C_out weights each): the positions costa_ / costb_ give to CoST units.
_base_ = ['./c2d_resnet18-w16_moving-digits-8dir.py']
model = dict(backbone=dict(st_conv='3x3x3', inflate=(1, 1, 1, 1)))
