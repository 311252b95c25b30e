# LSQ W3/A3: lsq-w2a2_resnet18-w16_fashion-mnist.py with 3-bit weights and inputs.
_base_ = ['./lsq-w2a2_resnet18-w16_fashion-mnist.py']

model = dict(w_bits=3, a_bits=3)
