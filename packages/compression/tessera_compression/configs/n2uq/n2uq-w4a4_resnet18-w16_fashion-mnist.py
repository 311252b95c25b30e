# N2UQ W4/A4: n2uq-w2a2_resnet18-w16_fashion-mnist.py with 4-bit weights and inputs
# (16 levels, 15 learnable input segments).
_base_ = ['./n2uq-w2a2_resnet18-w16_fashion-mnist.py']

model = dict(w_bits=4, a_bits=4)
