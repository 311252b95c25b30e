# Amended-DARTS search on Fashion-MNIST: the DARTS config (8 initial channels, 5 cells, 16 px,
# 5,000 + 5,000 images, the official DARTS optimizers) with the amended architecture gradient
#   g = dL_val/da - c * d2L_train/(da dw) . H . dL_val/dw,   H = d2L_train/dw2,
# at the current weights, both Hessian products by central differences (r = 0.01), c = 0.1
# (see README.md for where the formula and the coefficient come from). A step costs about three
# first-order steps, so fewer epochs fit the CPU budget.
_base_ = ['../darts/darts_search_c8-l5_fashion-mnist.py']
model = dict(arch_gradient='amended', amended_coefficient=0.1)
max_epochs = 1
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
