# N2UQ W3/A3: n2uq-w2a2_resnet18-w16_fashion-mnist.py with 3-bit weights and inputs
# (8 levels, 7 learnable input segments).
_base_ = ['./n2uq-w2a2_resnet18-w16_fashion-mnist.py']

model = dict(w_bits=3, a_bits=3)
