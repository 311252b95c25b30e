# Fashion-MNIST for a CPU-sized DARTS-family search (data_root: Debian's dataset-fashion-mnist).
# Search set: the first 10,000 training images split in half as the official train_portion=0.5
# (positions 0-4,999 train the weights, 5,000-9,999 the architecture), each item pairing one image of
# each split (SearchSplitDataset). Images are resized to 16 x 16 (bilinear) so that a supernet step
# fits one CPU core. Validation: the supernet on the first 1,000 test images (not the accuracy of
# the searched cell, which needs a retrain: configs/darts/retrain_*.py).
data_root = '/usr/share/datasets/fashion-mnist'
search_pipeline = [dict(type='Resize', scale=(16, 16), interpolation='bilinear'), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SearchSplitDataset', split='half',
                 dataset=dict(type='FashionMNIST', data_root=data_root, split='train', indices=10000,
                              pipeline=search_pipeline)))
val_dataloader = dict(
    batch_size=250, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='test', indices=1000, pipeline=search_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
