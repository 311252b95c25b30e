# The strong baseline's schedule: Adam, base lr 3.5e-4, weight decay 5e-4, linear warm-up from 0.01x over the
# first 10 epochs, lr x0.1 at epochs 40 and 70, 120 epochs.
max_epochs = 120
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[40, 70], gamma=0.1, by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=40)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
