# Fashion-MNIST, 60k train / 10k test, from Debian's dataset-fashion-mnist (tessera-core's FashionMNIST),
# read in the main process (num_workers=0: one core per run). Configs set train_dataloader.batch_size.
dataset_type = 'FashionMNIST'
data_root = '/usr/share/datasets/fashion-mnist'
train_pipeline = [dict(type='RandomShiftCrop', padding=2), dict(type='PackClsInputs')]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=500, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
