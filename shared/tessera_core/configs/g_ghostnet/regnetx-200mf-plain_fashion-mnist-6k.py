# The reference of g-ghost-regnetx-200mf_fashion-mnist-6k.py: a plain RegNetX-200MF built from the same
# table and the same RegNetXBlock (GGhostRegNet with every cheap ratio 0: no G-Ghost stage, so every
# stage is a chain of full-width blocks, as in RegNetX), same stem, head and recipe. tessera-core has
# no separate RegNet backbone. 2.32 M parameters, 15.16 M MACs per 28 x 28 image.
_base_ = './g-ghost-regnetx-200mf_fashion-mnist-6k.py'
model = dict(backbone=dict(
    _delete_=True, type='GGhostRegNet', in_channels=1, stem_stride=1, out_indices=(3,),
    arch=dict(depths=(1, 1, 4, 7), widths=(24, 56, 152, 368), group_width=8, cheap_ratios=(0, 0, 0, 0))))
