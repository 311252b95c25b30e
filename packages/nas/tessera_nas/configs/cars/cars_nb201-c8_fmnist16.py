# CARS (arXiv:1909.04977) on the NB201-style cell space of the tabular benchmark fmnist16-nb201-v1: a
# weight-sharing supernet over the table's macro network (C = 8, one cell per stage, 16 px
# Fashion-MNIST; every op of every edge, BN with batch statistics), trained on the table's 6,000
# training images; parameter warm-up with uniform paths, then continuous evolution: every `interval`
# epochs one generation (offspring by mutation / crossover / random, fitness = inherited-weight accuracy
# on 2,000 of the table's validation images, pNSGA-III on accuracy vs params with the accuracy-increase
# protection), the population's paths training the supernet in between. Every generation is written to
# <work_dir>/cars_generations.json; score it with benchmarks/cars_pareto.py.
_base_ = ['../_base_/default_runtime.py']
data_root = '/usr/share/datasets/fashion-mnist'
pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='TableSplitFashionMNIST', table_split='train', data_root=data_root, pipeline=pipeline))
# the fitness set of the evolution (the hook evaluates every individual on it)
val_dataloader = dict(
    batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TableSplitFashionMNIST', table_split='valid', data_root=data_root, indices=2000,
                 pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
population_size = 16  # paper: 128 (a quarter of the 500-cell table; see README)
model = dict(
    type='CARSClassifier',
    # the table's standardisation (norm_mean, norm_std of its recipe, x 255)
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[73.17], std=[82.31]),
    backbone=dict(type='CARSSupernet', channels=8, cells_per_stage=1, in_channels=1, input_size=16, affine=False,
                  batch_stats=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=32, init_cfg=None, topk=(1, )),
    paths_per_iter=1,  # N_b (paper: 1)
    population_size=population_size,
)
warmup_epochs, interval, generations = 10, 2, 10  # paper: 50 warm-up, every 10 epochs, 45 generations (500)
max_epochs = warmup_epochs + interval * generations
# the official search recipe: SGD 0.025, momentum 0.9, wd 3e-4, cosine to 0.001, clip 5 (batch 128)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                     clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='CARSEvolutionHook', warmup_epochs=warmup_epochs, interval=interval,
                     population_size=population_size, offspring_ratio=1.0, p_mutation=0.25, p_crossover=0.25,
                     crossover_rate=0.5, mutation_rate=0.5, objective='params', protection='increase',
                     restrict_to_table=True, outside_table='nearest', seed=0)]
randomness = dict(seed=0)
