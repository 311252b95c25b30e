# LA-DARTS (arXiv:2001.06392) on the NB201-style cell space of the tabular benchmark fmnist16-nb201-v1:
# DARTS' bi-level search (first-order) over a softmax supernet (one alpha of 6 edges x 5 ops shared by
# the 3 cells of the table's macro network, C = 8, 16 px Fashion-MNIST), with the latency loss
# lambda * LAT(softmax(alpha)) / ref_ms added to the architecture objective. LAT is an MLP (30 -> 64 ->
# 64 -> 1) fitted at construction on 400 of the table's 500 measured latencies (100 held out; its
# held-out error is logged and written to <work_dir>/la_darts_search.json with the per-epoch search
# record and the derived cell's table entry). latency_lambda=0.0 is plain DARTS on this space.
# Data: the table's own 6,000 training images split in half (3,000 train the weights, 3,000 the
# architecture, DARTS' train_portion 0.5); the table's validation images score the supernet at the end.
_base_ = ['../_base_/default_runtime.py']
data_root = '/usr/share/datasets/fashion-mnist'
pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SearchSplitDataset', split='half',
                 dataset=dict(type='TableSplitFashionMNIST', table_split='train', data_root=data_root,
                              pipeline=pipeline)))
val_dataloader = dict(
    batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TableSplitFashionMNIST', table_split='valid', data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
model = dict(
    type='LADARTSClassifier',
    # the table's standardisation (norm_mean, norm_std of its recipe, x 255)
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[73.17], std=[82.31]),
    backbone=dict(type='NB201DARTSSupernet', channels=8, cells_per_stage=1, in_channels=1, affine=False,
                  init_std=1e-3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=32, init_cfg=None, topk=(1, )),
    arch_gradient='first_order',
    warmup_epochs=0,
    latency_predictor=dict(hidden=(64, 64), holdout=100, split_seed=0, steps=3000, lr=3e-3, weight_decay=1e-5,
                           seed=0),
    latency_lambda=0.1,
    latency_form='linear',
)
max_epochs = 20
optim_wrapper = dict(
    constructor='DARTSOptimWrapperConstructor',
    # DARTS' weight recipe (quark0/darts cnn/train_search.py; NB201's DARTS baseline alike)
    weights=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    # Adam betas (0.5, 0.999), weight decay 1e-3 as DARTS; lr 6e-3 = 20 x DARTS' 3e-4 because the search has
    # ~1/20 of NB201-DARTS' architecture steps (940 vs 19.5k): the same maximal Adam path length
    architecture=dict(optimizer=dict(type='Adam', lr=6e-3, betas=(0.5, 0.999), weight_decay=1e-3)))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='LADARTSHook')]
