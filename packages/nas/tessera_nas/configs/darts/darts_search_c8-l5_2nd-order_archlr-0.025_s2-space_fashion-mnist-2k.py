# ./darts_search_c8-l5_2nd-order_archlr-0.025_fashion-mnist-2k.py on RobustDARTS' space S2 (Zela et al.,
# ICLR 2020): every edge chooses between skip_connect and sep_conv_3x3 only. It is the space in which DARTS'
# collapse into skip-connections is known to show soonest, so the collapse that Amended-DARTS claims to
# prevent can appear within a CPU budget; 12 epochs (192 steps) of the same 2,000 images.
_base_ = ['./darts_search_c8-l5_2nd-order_archlr-0.025_fashion-mnist-2k.py']
model = dict(backbone=dict(primitives=['skip_connect', 'sep_conv_3x3']))
max_epochs = 12
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
