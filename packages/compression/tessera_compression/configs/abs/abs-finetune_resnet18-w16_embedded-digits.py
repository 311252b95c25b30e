# Fine-tuning of the network the embedded-digits ABS search selected (abs-search_resnet18-w16_embedded-digits.py,
# its last checkpoint): fixed per-conv widths, pruned filters removed, 4 epochs of the same recipe.
_base_ = ['./abs-search_resnet18-w16_embedded-digits.py']

model = dict(
    _delete_=True,
    type='ABSDerivedModel',
    supernet=_base_.model,
    supernet_ckpt='work_dirs/abs-search_resnet18-w16_embedded-digits/epoch_4.pth',
)
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
