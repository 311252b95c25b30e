# ITM (Zhang et al., AAAI 2019, arXiv:1812.06576): multi-stage training with an incremental triplet margin and
# global hard identity searching, on top of the strong baseline config (same model, data and 6-epoch schedule).
# Three stages of two epochs: margins 0.3 -> 0.5 -> 0.7 (IncrementalTripletMarginHook); at the start of stages 2
# and 3 the model of the previous stage extracts every training image (test pipeline), identity centroids are
# computed and the GlobalHardIdentitySampler builds every batch from an anchor identity and its 7 nearest
# identities (P=8 x K=4); stage 1 samples random P x K batches. The margins are our choice (the paper's values
# could not be read here; see configs/itm/README.md).
_base_ = ['../strong_baseline/strong-baseline_resnet18-w16_camstyle-fashion.py']
stage_epochs = (0, 2, 4)
margins = (0.3, 0.5, 0.7)
train_dataloader = dict(sampler=dict(type='GlobalHardIdentitySampler', num_identities=8, num_instances=4,
                                     identities_per_group=None))
custom_hooks = [
    dict(type='IncrementalTripletMarginHook', stage_epochs=stage_epochs, margins=margins),
    dict(type='HardIdentitySearchHook', search_epochs=stage_epochs[1:], feature='triplet'),
    dict(type='RankedGalleryHook', num_queries=6, topk=8, cell=(48, 48)),
]
