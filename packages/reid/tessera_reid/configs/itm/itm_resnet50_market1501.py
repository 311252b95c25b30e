# ITM at Market-1501's scale (Zhang et al., AAAI 2019, arXiv:1812.06576) on the strong baseline's ResNet-50
# recipe (configs/strong_baseline/strong-baseline_resnet50_market1501.py, 120 epochs): three stages of 40
# epochs with triplet margins 0.3 -> 0.5 -> 0.7 and global hard identity searching at the start of stages 2 and
# 3 (an anchor identity and its 15 nearest identities per P=16 x K=4 batch). Stage boundaries are placed at the
# schedule's lr steps' neighbourhood; the paper's margins and stage lengths could not be read here (see
# configs/itm/README.md). Not run here: needs the Market-1501 release and ImageNet weights.
_base_ = ['../strong_baseline/strong-baseline_resnet50_market1501.py']
stage_epochs = (0, 40, 80)
margins = (0.3, 0.5, 0.7)
train_dataloader = dict(sampler=dict(type='GlobalHardIdentitySampler', num_identities=16, num_instances=4,
                                     identities_per_group=None))
custom_hooks = [
    dict(type='IncrementalTripletMarginHook', stage_epochs=stage_epochs, margins=margins),
    dict(type='HardIdentitySearchHook', search_epochs=stage_epochs[1:], feature='triplet', batch_size=128),
]
