# The QAT recipe of issue 6, here without quantization: the full-precision row of the N2UQ / LSQ
# comparison ("the FP model results are initialized and fine-tuned with the same settings as
# quantized models", N2UQ paper section 4.1). Every QAT config (n2uq-w*a*, ../lsq/lsq-w*a*)
# inherits this file and only wraps the model in a QuantizedModel.
#
# Start: the full-precision checkpoint of resnet18-w16_fp-pretrain_fashion-mnist.py (run it first;
# the official N2UQ code loads real-valued pretrained weights). Recipe of the official N2UQ code
# (resnet/train.py, run.sh): Adam (betas 0.9, 0.999), lr 1.25e-3 for batch 256 scaled linearly to
# 6.25e-4 for batch 128, linear decay to 0, weight decay 0, the quantizer parameters (N2UQ's
# start / lengths / scales, LSQ's step sizes) at a tenth of the learning rate. CPU-sized schedule:
# one epoch of the first 40,000 training images (313 iterations), tested on the 10,000 test images.
# The official code also distils from a real-valued ResNet-101 (KL loss); no teacher is used here
# (label-smoothed cross-entropy, 0.1, as the pretraining).
_base_ = ['./resnet18-w16_fp-pretrain_fashion-mnist.py']

load_from = 'work_dirs/resnet18-w16_fp-pretrain_fashion-mnist/epoch_1.pth'
train_dataloader = dict(dataset=dict(indices=40000))

max_epochs = 1
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='Adam', lr=6.25e-4, betas=(0.9, 0.999), weight_decay=0.0),
    paramwise_cfg=dict(custom_keys={'_quantizer.': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
