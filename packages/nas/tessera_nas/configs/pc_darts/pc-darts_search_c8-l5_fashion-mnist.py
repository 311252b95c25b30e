# PC-DARTS search on Fashion-MNIST, the reduced supernet of the DARTS config (8 initial channels,
# 5 cells, 16 px inputs, 5,000 + 5,000 images) with partial channel connections: on every edge only
# C/K channels (K = 4) go through the candidate operations, the rest bypass, then a channel shuffle;
# edge normalization (betas, softmax over the inputs of each node), derivation with op weights times
# edge weights. Official defaults of yuhuixu1993/PC-DARTS train_search.py: batch 256, SGD lr 0.1,
# momentum 0.9, weight decay 3e-4, cosine to 0, gradient norm clipped to 5; Adam lr 6e-4, betas
# (0.5, 0.999), weight decay 1e-3; first-order architecture steps only after the warm-up (official
# 15 of 50 epochs; here the same 30 %: 3 of 10 epochs).
_base_ = ['../darts/darts_search_c8-l5_fashion-mnist.py']
model = dict(
    backbone=dict(mixed_op=dict(type='PartialChannelMixedOp', k=4), edge_normalization=True),
    arch_gradient='first_order',
    warmup_epochs=3,
)
train_dataloader = dict(batch_size=256)
max_epochs = 10
optim_wrapper = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    architecture=dict(optimizer=dict(type='Adam', lr=6e-4, betas=(0.5, 0.999), weight_decay=1e-3)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
