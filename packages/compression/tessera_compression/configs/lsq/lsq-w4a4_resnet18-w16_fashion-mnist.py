# LSQ W4/A4: lsq-w2a2_resnet18-w16_fashion-mnist.py with 4-bit weights and inputs.
_base_ = ['./lsq-w2a2_resnet18-w16_fashion-mnist.py']

model = dict(w_bits=4, a_bits=4)
