# DARTS search with the second-order (unrolled) architecture gradient of the official
# cnn/architect.py: one virtual SGD step of the weights (eta = current weight lr, with momentum and
# weight decay), the mixed second derivative by central differences (r = 0.01 / ||dL_val/dw'||).
# About 2.5 times the cost of a first-order iteration, so fewer epochs in the same CPU budget.
_base_ = ['./darts_search_c8-l5_fashion-mnist.py']
model = dict(arch_gradient='second_order')
max_epochs = 1
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
