# Ablation of ITM on CamStyle-ReID: global hard identity searching alone (searches before epochs 2 and 4, an
# anchor and its 7 nearest identities per batch) with the strong baseline's fixed margin 0.3; otherwise
# itm_resnet18-w16_camstyle-fashion.py.
_base_ = ['./itm_resnet18-w16_camstyle-fashion.py']
custom_hooks = [
    dict(type='HardIdentitySearchHook', search_epochs=(2, 4), feature='triplet'),
    dict(type='RankedGalleryHook', num_queries=6, topk=8, cell=(48, 48)),
]
