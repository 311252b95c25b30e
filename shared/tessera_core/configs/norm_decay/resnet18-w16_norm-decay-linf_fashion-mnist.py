# Norm decay on the exact l-infinity operator norms (largest absolute row sum of each layer's
# matrix), otherwise identical to resnet18-w16_norm-decay-l1_fashion-mnist.py (official
# train_nd_inf.py: same recipe, norm='inf-norm').
_base_ = './resnet18-w16_norm-decay-l1_fashion-mnist.py'
custom_hooks = [dict(type='NormDecayHook', norm='linf', coeff=1e-3, momentum=0.5, conv=True, linear=True)]
