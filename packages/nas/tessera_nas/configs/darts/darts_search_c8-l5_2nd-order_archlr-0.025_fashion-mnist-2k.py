# DARTS search, second order, set up to show the collapse that Amended-DARTS claims to prevent: the
# architecture learning rate at which this machine's searches do move the weights (Adam 0.025, the
# official 3e-4 scaled to the official number of architecture steps; darts/README.md), on a small search
# set (the first 2,000 training images: 1,000 train the weights, 1,000 the architecture; 16 iterations
# of batch 64 per epoch) for 8 epochs, validating the supernet after every epoch and keeping every
# epoch's checkpoint, so that the skip-connections of the derived cell and the validation accuracy can be
# followed epoch by epoch (benchmarks/darts_collapse.py). Everything else is the official recipe.
_base_ = ['./darts_search_c8-l5_2nd-order_fashion-mnist.py']
train_dataloader = dict(dataset=dict(dataset=dict(indices=2000)))
optim_wrapper = dict(architecture=dict(optimizer=dict(lr=0.025)))
max_epochs = 8
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
