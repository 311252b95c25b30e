# GOLD-NAS (arXiv:2007.03331) on the NB201-style cell space of the tabular benchmark fmnist16-nb201-v1:
# the table's macro network (C = 8, one cell per stage, 16 px Fashion-MNIST) with one sigmoid gate per
# (edge, op) (24 gates shared by the 3 cells, so every snapshot is a cell of the table's space), trained
# one-level (weights and gates on the same batch) on the table's own 6,000 training images, pruned
# gradually by GoldNASPruningHook; every pruning step writes a snapshot (a point of the Pareto front) to
# <work_dir>/gold_nas_snapshots.json. Score the snapshots with benchmarks/gold_nas_pareto.py.
_base_ = ['../_base_/default_runtime.py']
data_root = '/usr/share/datasets/fashion-mnist'
pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='TableSplitFashionMNIST', table_split='train', data_root=data_root, pipeline=pipeline))
val_dataloader = dict(
    batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TableSplitFashionMNIST', table_split='valid', data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
model = dict(
    type='GoldNASClassifier',
    # the table's standardisation (norm_mean, norm_std of its recipe, x 255)
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[73.17], std=[82.31]),
    backbone=dict(type='GoldNASSupernet', channels=8, cells_per_stage=1, in_channels=1, input_size=16,
                  share_cells=True, affine=False, init_std=1e-3, resource_weights=dict(flops=1.0)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=32, init_cfg=None, topk=(1, )),
    resource_lambda=0.0,
)
max_epochs = 20
optim_wrapper = dict(
    constructor='DARTSOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    # no weight decay on the gates (it would pull every sigmoid back to 0.5, against the pruning)
    architecture=dict(optimizer=dict(type='Adam', lr=0.1, betas=(0.5, 0.999), weight_decay=0.0)))
param_scheduler = dict(weights=[], architecture=[])  # constant rates: the pruning rhythm sets the pace
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# t0 = 20 iterations between pruning steps, n0 = 2 gates per step, xi = 0.005, lambda_0 = 0.1, c0 = 2,
# one epoch (93 iterations) of plain one-level training before the first step; stop when every
# gate that costs multiply-adds is gone (min_flops = the all-none network's 489,280).
custom_hooks = [dict(type='GoldNASPruningHook', interval=20, warmup_iters=93, num_per_step=2, threshold=0.005,
                     lambda_init=0.1, growth=2.0, min_flops=489280)]
