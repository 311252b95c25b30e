# Amended-DARTS search on Fashion-MNIST: the DARTS config (8 initial channels, 5 cells, 16 px,
# 5,000 + 5,000 images, the official DARTS optimizers) with the amended architecture gradient
#   g = dL_val/da - c * d2L_train/(da dw) . H . dL_val/dw,   H = d2L_train/dw2,
# at the current weights, both Hessian products by central differences (r = 0.01), c = 0.1
# (see README.md for where the formula and the coefficient come from). A step costs about three
# first-order steps, so fewer epochs fit the CPU budget.
_base_ = ['../darts/darts_search_c8-l5_2nd-order_fashion-mnist.py']  # its 1-epoch schedule
model = dict(arch_gradient='amended', amended_coefficient=0.1)
