# Fashion-MNIST (Debian's dataset-fashion-mnist, 60k train / 10k test) zero-padded from 28 to 32 px
# (mmcv's Pad pads at the bottom and right), for CIFAR-layout networks (8 x 8 maps after two reductions).
_base_ = ['./fashion_mnist.py']
train_pipeline = [
    dict(type='Pad', size=(32, 32), pad_val=0),
    dict(type='RandomShiftCrop', padding=2),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='Pad', size=(32, 32), pad_val=0), dict(type='PackClsInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
