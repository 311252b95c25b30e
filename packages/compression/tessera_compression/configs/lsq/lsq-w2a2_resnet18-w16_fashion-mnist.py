# LSQ W2/A2 (arXiv:1902.08153), the uniform baseline of N2UQ, on the quarter-width ResNet-18 of
# Fashion-MNIST, set up exactly as ../n2uq/n2uq-w2a2_resnet18-w16_fashion-mnist.py: the same
# layers quantized (16 3x3 + 3 downsample convs of the residual stages; stem conv and classifier
# full precision), the same start (the full-precision checkpoint) and the same QAT recipe
# (../n2uq/resnet18-w16_fp-finetune_fashion-mnist.py: Adam 6.25e-4, linear decay, quantizer
# parameters at lr x 0.1, one epoch of 40,000 images); only the quantizers differ: LSQ's learned
# step size, signed 2-bit weights {-2..1} * s_w and unsigned 2-bit inputs {0..3} * s_a, each step
# initialised from the first tensor it sees (the loaded weights, the first batch).
_base_ = ['../n2uq/resnet18-w16_fp-finetune_fashion-mnist.py']

model = dict(
    _delete_=True,
    type='QuantizedModel',
    model=_base_.model,
    weight_quantizer=dict(type='LSQQuantizer', kind='weight'),
    act_quantizer=dict(type='LSQQuantizer', kind='activation'),
    w_bits=2, a_bits=2,
    keep_full_precision=['backbone.stem.0', 'head.fc'],
)
