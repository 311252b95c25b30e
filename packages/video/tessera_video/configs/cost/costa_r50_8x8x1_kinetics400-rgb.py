# CoST(a) ResNet-50 at the paper's Kinetics-400 setting (official costa_r50_8x8x1_160e_kinetics400_rgb.py): as
# costb_r50_8x8x1_kinetics400-rgb.py with learned coefficients. Not trained here.
_base_ = ['./costb_r50_8x8x1_kinetics400-rgb.py']
model = dict(backbone=dict(st_conv='costa'))
