# N2UQ W2/A2 (arXiv:2111.14826) on the quarter-width ResNet-18 of Fashion-MNIST: every convolution
# of the residual stages (16 3x3 + 3 downsample 1x1) gets N2UQ's 2-bit weight quantizer (uniform
# levels after the entropy-preserving regularization) and its 2-bit input quantizer (learnable
# nonuniform thresholds, uniform output levels, G-STE); the stem conv and the classifier stay full
# precision (paper section 4.1; the official code's "N2UQ" setting, which quantizes the
# downsampling layers too). The QuantizedModel wrapper converts the ordinary ImageClassifier of
# the base config; training starts from the full-precision checkpoint (load_from of the base) with
# the official recipe, see resnet18-w16_fp-finetune_fashion-mnist.py.
_base_ = ['./resnet18-w16_fp-finetune_fashion-mnist.py']

model = dict(
    _delete_=True,
    type='QuantizedModel',
    model=_base_.model,
    weight_quantizer=dict(type='N2UQWeightQuantizer'),
    act_quantizer=dict(type='N2UQActivationQuantizer'),
    w_bits=2, a_bits=2,
    keep_full_precision=['backbone.stem.0', 'head.fc'],
)
