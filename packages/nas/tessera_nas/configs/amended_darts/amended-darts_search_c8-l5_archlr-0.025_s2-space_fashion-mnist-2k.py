# Amended-DARTS next to ../darts/darts_search_c8-l5_2nd-order_archlr-0.025_s2-space_fashion-mnist-2k.py:
# RobustDARTS' space S2 (skip_connect or sep_conv_3x3 on every edge), the same data, schedule and
# architecture lr, with the amended architecture gradient (c = 0.1, r = 0.01) instead of the second-order one.
_base_ = ['../darts/darts_search_c8-l5_2nd-order_archlr-0.025_s2-space_fashion-mnist-2k.py']
model = dict(arch_gradient='amended', amended_coefficient=0.1)
