# DAFL's MNIST teacher: LeNet-5 (official lenet.py) trained on the 4,000 embedded real MNIST digits,
# resized to 32 x 32 and standardised with MNIST's mean / std (0.1307 / 0.3081), as the official
# teacher-train.py; cross-entropy, Adam lr 1e-3. Official: batch 256, 9 epochs of the 60,000 MNIST digits
# (about 2,100 iterations); here batch 64, 20 epochs of 63 iterations (1,260).
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
pipeline = [dict(type='Resize', scale=(32, 32)), dict(type='PackClsInputs')]
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.1307 * 255], std=[0.3081 * 255]),
    backbone=dict(type='LeNet5', arch='full'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=84,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)))
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
