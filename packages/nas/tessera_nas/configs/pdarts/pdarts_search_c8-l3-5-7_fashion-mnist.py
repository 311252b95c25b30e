# P-DARTS search on Fashion-MNIST (16 px, 5,000 + 5,000 images), 3 stages of a reduced supernet with
# 8 initial channels: 3, 5 and 7 cells (official 5, 11, 17) with 8, 5 and 3 candidate ops per edge
# (official), operation-level dropout after skip-connect 0.1, 0.4, 0.7 (official CIFAR-10 command),
# 2 epochs per stage of which 1 warm-up (official 25 and 10). Each stage is a new supernet (fresh
# weights, architecture parameters, optimizers and cosine schedule); the final normal cell keeps at
# most 2 skip-connects. Official chenxin061/pdarts train_search.py recipe: batch 96, SGD lr 0.025,
# momentum 0.9, weight decay 3e-4, cosine to 0, weight gradients clipped to 5; Adam lr 6e-4, betas
# (0.5, 0.999), weight decay 1e-3, architecture gradients clipped to 5; first-order.
_base_ = ['../darts/darts_search_c8-l5_fashion-mnist.py']
epochs_per_stage = 2
model = dict(backbone=dict(layers=3), arch_gradient='first_order', warmup_epochs=1)
train_dataloader = dict(batch_size=96)
optim_wrapper = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    architecture=dict(optimizer=dict(type='Adam', lr=6e-4, betas=(0.5, 0.999), weight_decay=1e-3),
                      clip_grad=dict(max_norm=5, norm_type=2)))
# rebuilt at every stage: one stage's cosine
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=epochs_per_stage, eta_min=0.0, by_epoch=True, begin=0,
                  end=epochs_per_stage, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(
    _delete_=True, type='ProgressiveSearchLoop', epochs_per_stage=epochs_per_stage, max_skip_connect=2,
    stages=[dict(layers=3, num_ops=8, op_dropout=0.1),
            dict(layers=5, num_ops=5, op_dropout=0.4),
            dict(layers=7, num_ops=3, op_dropout=0.7)])
