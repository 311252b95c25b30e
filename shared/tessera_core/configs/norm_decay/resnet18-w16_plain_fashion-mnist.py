# The baseline of the norm-decay configs: the same network and recipe without any regulariser
# (official train_nd.py's "plain" run: mmt = beta = 0). The hook runs with coeff 0, so it changes
# nothing and only logs the l1 norms (train/op_norm_sum, train/op_norm_max) for the comparison.
_base_ = './resnet18-w16_norm-decay-l1_fashion-mnist.py'
custom_hooks = [dict(type='NormDecayHook', norm='l1', coeff=0.0)]
