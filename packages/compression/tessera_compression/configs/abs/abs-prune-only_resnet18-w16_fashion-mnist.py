# Ablation "pruning only": the ABS search with the quantization gates removed (weights and inputs fixed
# at 4 bits, the filter-wise 0-bit gates and the BOPs term as abs-search_resnet18-w16_fashion-mnist.py,
# same W3A3 budget), the filter thresholds at lr x 10: the filter scores they must pass (~0.1-0.3) are
# larger than the residual norms of the quantization gates, and even so the budget is not reached in
# one epoch (README). At most half of each block's filters can go, so the reachable minimum is
# 230,326,272 BOPs, just under the budget. Fine-tune: abs-finetune_resnet18-w16_fashion-mnist.py with
#   --cfg-options model.supernet.weight_bits_list=[4] model.supernet.act_bits_list=[4]
#   model.supernet_ckpt=work_dirs/abs-prune-only_resnet18-w16_fashion-mnist/epoch_1.pth
_base_ = ['./abs-search_resnet18-w16_fashion-mnist.py']

model = dict(weight_bits_list=[4], act_bits_list=[4])
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    '_quantizer.': dict(lr_mult=0.1),
    '_quantizer.thresholds': dict(lr_mult=10.0, decay_mult=0.0),
    'bn1.thresholds': dict(lr_mult=10.0, decay_mult=0.0),
}))
