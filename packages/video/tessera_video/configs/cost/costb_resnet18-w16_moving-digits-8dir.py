# CoST(b) ResNet-18 (quarter width) on the 8-direction moving digits: as costa_resnet18-w16_moving-digits-8dir.py
# with the coefficients predicted per clip from the three view responses (global max pool, a C -> C fc shared by
# the views, a 3 -> 3 fc across the views, softmax over the views).
_base_ = ['./c2d_resnet18-w16_moving-digits-8dir.py']
model = dict(backbone=dict(st_conv='costb', inflate=(1, 1, 1, 1)))
