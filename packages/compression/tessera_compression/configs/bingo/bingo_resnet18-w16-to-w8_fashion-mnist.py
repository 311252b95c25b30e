# BINGO at the measured setting: the MoCo v2 teacher of ../seed/mocov2_resnet18-w16_fashion-mnist.py
# (15 epochs on the first 10,000 Fashion-MNIST training images) and the eighth-width ResNet-18 student on
# the same 10,000 images (labels unused; bags over them), 10 epochs (warm-up 1), otherwise as
# bingo_resnet18-w16-to-w8_embedded-digits.py (k = 5, weights 0.5 / 0.5, cutmix alpha 2, tau 0.2,
# queue 1024). k-NN monitor at the end; linear probe: ../seed/linear-probe_resnet18-w8_fashion-mnist.py.
_base_ = ['./bingo_resnet18-w16-to-w8_embedded-digits.py']
fmnist = dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist')
teacher_ckpt = 'work_dirs/mocov2_resnet18-w16_fashion-mnist/epoch_15.pth'
model = dict(teacher='tessera_compression::seed/mocov2_resnet18-w16_fashion-mnist.py', teacher_ckpt=teacher_ckpt)
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(_delete_=True, **fmnist, split='train', indices=10000)))
knn_loader = dict(batch_size=500, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(**fmnist, pipeline=[dict(type='PackClsInputs')]))
max_epochs = 10
custom_hooks = [
    dict(type='BagOfInstancesHook', batch_size=500),
    dict(type='KNNMonitorHook', k=20, temperature=0.07, interval=max_epochs,
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='train', indices=5000)),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'], split='test', indices=2000))),
]
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
