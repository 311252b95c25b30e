# AutoMix (Liu et al., ECCV 2022, arXiv:2103.13027) in the overfitting setting of
# resnet18-w16_none_fashion-mnist-1k.py (first 1,000 training images, 40 epochs = 640 iterations):
# the AutoMix of resnet18-w16_automix_fashion-mnist-4k.py unchanged (official defaults, base momentum
# 0.99, cosine to 0.999999 over iterations [10 %, 100 %]; 0.99 still makes k move here, see the README).
# The setting block below repeats the one of resnet18-w16_none_fashion-mnist-1k.py, because mmengine
# forbids two bases that share keys; test_core_mixing_train.py checks that the four 1k configs share
# one recipe.
_base_ = './resnet18-w16_automix_fashion-mnist-4k.py'
train_dataloader = dict(dataset=dict(indices=1000))
max_epochs = 40
warmup_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=1)
