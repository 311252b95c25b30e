# fpn-r18w16_digit-seg.py with one Polarized Self-Attention block (Liu et al., arXiv:2107.00782),
# parallel layout PSA_p(X) = A_ch(X) X + A_sp(X) X, on the head's 28 x 28 fused map (32 channels,
# +2,144 parameters) before the classifier conv; everything else identical.
_base_ = './fpn-r18w16_digit-seg.py'
model = dict(head=dict(plugins=[dict(type='PSA', layout='parallel')]))
