# Baseline of the sparse-shift comparison: MobileNetV2 0.35x (torchvision layout, 3x3 depthwise convs) on
# Fashion-MNIST with the short recipe of ssl-mobilenetv2-0.35x_fashion-mnist-12k.py (first 12,000 training
# images, 2 epochs, the shared optimiser of the efficient backbones; tested on all 10,000 test images).
# Small-image stem (stride 1, total stride 16) as every issue-3 backbone. 408,650 params, 4.34 M MACs.
_base_ = ['../mobilenet_v2/mobilenetv2_fashion-mnist.py']
model = dict(backbone=dict(widen_factor=0.35))
train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(indices=12000))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
