# Market-1501 (the official release unpacked under data_root; nothing is downloaded), with the strong baseline's
# input pipeline: 256x128 resize, horizontal flip 0.5, 10 px pad + random crop, random erasing 0.5; batches of
# P=16 identities x K=4 images.
dataset_type = 'Market1501'
data_root = 'data/market1501'
num_identities, num_instances = 16, 4
meta_keys = ('sample_idx', 'img_path', 'img_shape', 'camid', 'is_query')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomShiftCrop', padding=10),
    dict(type='RandomErasing', prob=0.5, value=(103.53, 116.28, 123.675)),  # BGR ImageNet mean
    dict(type='PackClsInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), keep_ratio=False),
    dict(type='PackClsInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=num_identities * num_instances, num_workers=4, persistent_workers=True,
    sampler=dict(type='PKSampler', num_identities=num_identities, num_instances=num_instances),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', topk=(1, 5, 10), distance='euclidean')
test_evaluator = val_evaluator
