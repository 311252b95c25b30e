# fpn-r18w16_digit-seg.py with one Polarized Self-Attention block (Liu et al., arXiv:2107.00782),
# sequential layout PSA_s(X) = A_sp(Z) Z with Z = A_ch(X) X, on the head's 28 x 28 fused map
# (32 channels, +2,144 parameters) before the classifier conv; everything else identical.
_base_ = './fpn-r18w16_digit-seg.py'
model = dict(head=dict(plugins=[dict(type='PSA', layout='sequential')]))
