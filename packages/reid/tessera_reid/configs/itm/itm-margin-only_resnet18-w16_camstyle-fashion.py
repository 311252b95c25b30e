# Ablation of ITM on CamStyle-ReID: the incremental triplet margin alone (0.3 -> 0.5 -> 0.7 over three 2-epoch
# stages) with random P x K batches (no hard identity searching); otherwise itm_resnet18-w16_camstyle-fashion.py.
_base_ = ['./itm_resnet18-w16_camstyle-fashion.py']
train_dataloader = dict(sampler=dict(_delete_=True, type='PKSampler', num_identities=8, num_instances=4))
custom_hooks = [
    dict(type='IncrementalTripletMarginHook', stage_epochs={{_base_.stage_epochs}}, margins={{_base_.margins}}),
    dict(type='RankedGalleryHook', num_queries=6, topk=8, cell=(48, 48)),
]
