# Fine-tuning of the network the ABS search selected (abs-search_resnet18-w16_fashion-mnist.py): the
# gates of the search's last checkpoint fix each conv's weight / input width and remove the pruned
# filters (ABSDerivedModel; the derived convs are QuantConv2d with the search's clip quantizer at the
# selected widths). Same recipe and budget as the uniform LSQ baselines
# (../lsq/lsq-w*a*_resnet18-w16_fashion-mnist.py with the same 10,000-image subset): one epoch, Adam
# 6.25e-4, linear decay, quantizer parameters at lr x 0.1. Export: tessera_compression.export.
_base_ = ['./abs-search_resnet18-w16_fashion-mnist.py']

load_from = None  # the weights come from the search checkpoint
model = dict(
    _delete_=True,
    type='ABSDerivedModel',
    supernet=_base_.model,
    supernet_ckpt='work_dirs/abs-search_resnet18-w16_fashion-mnist/epoch_1.pth',
)
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys={'_quantizer.': dict(lr_mult=0.1)}))
