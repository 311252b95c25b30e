# The self-supervised-alone baseline of the SEED / BINGO comparison: the eighth-width ResNet-18 student
# (8 base channels, MLP head to 128-d) trained by MoCo v2 itself with the teacher's recipe
# (mocov2_resnet18-w16_fashion-mnist.py: queue 1024, momentum 0.99, T 0.2, shuffling BN over 8
# sub-batches, SGD lr 0.03, wd 5e-4, cosine) on the same 10,000 images for the students' 10 epochs.
_base_ = ['./mocov2_resnet18-w16_fashion-mnist.py']
model = dict(backbone=dict(base_channels=8),
             projector=dict(in_channels=64, hid_channels=64, out_channels=128))
max_epochs = 10
fmnist = dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist')
knn_loader = dict(batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(**fmnist, pipeline=[dict(type='PackClsInputs')]))
custom_hooks = [
    dict(type='KNNMonitorHook', k=20, temperature=0.07, interval=max_epochs,
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='train', indices=5000)),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='test', indices=2000))),
]
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
