# The MoCo v2 teacher of the SEED / BINGO comparison: the MoCo v2 recipe of
# ../mocov2/mocov2_resnet18-w16_embedded-digits.py (quarter-width ResNet-18, 2-layer MLP head to 128-d,
# queue 1024, momentum 0.99, T = 0.2, MoCo v2 augmentations for grey 28 px images, shuffling BN over
# 8 sub-batches) on the first 10,000 Fashion-MNIST training images (labels unused; Debian's
# dataset-fashion-mnist), 15 epochs. The k-NN monitor (k = 20, T = 0.07) runs on 5,000 train / 2,000
# test images at the end. Its checkpoint is the teacher of seed_*.py, bingo_*.py (model.teacher_ckpt).
_base_ = ['../mocov2/mocov2_resnet18-w16_embedded-digits.py']
fmnist = dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist')
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **fmnist, split='train', indices=10000,
                 pipeline={{_base_.train_pipeline}}))
knn_loader = dict(batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(**fmnist, pipeline=[dict(type='PackClsInputs')]))
max_epochs = 15
custom_hooks = [
    dict(type='KNNMonitorHook', k=20, temperature=0.07, interval=max_epochs,
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='train', indices=5000)),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='test', indices=2000))),
]
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
