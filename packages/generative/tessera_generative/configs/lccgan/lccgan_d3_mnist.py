# LCCGAN at the official MNIST setting: full MNIST (the four IDX files under data/mnist/, read by tessera-core's
# MNISTIdx; nothing is downloaded), D = 100, M = 128, d = nz = 3; stage 1: 100 epochs of the L1 autoencoder
# (Adam 1e-4), stage 2: 3 epochs of LCC fitting on batches of 1,000 (Adam 0.01, L_G = 2, lambda = 0.2, random
# basis init as the official code), stage 3: 100 epochs of the DCGAN (Adam 2e-4, beta1 0.5, batch 64).
# Deviation: 28 px (the official trainer resizes to 64 px), so that the package's 28-px digit feature network
# evaluates it. Not run here (GPU-scale); see README.md.
_base_ = ['./lccgan_d3_embedded-digits.py']

data_root = 'data/mnist/'
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='MNISTIdx', data_root=data_root, split='train',
                 pipeline=[dict(type='PackClsInputs')]))
val_dataloader = dict(
    dataset=dict(_delete_=True, type='MNISTIdx', data_root=data_root, split='test',
                 pipeline=[dict(type='PackClsInputs')]))
test_dataloader = val_dataloader
iters_per_epoch = 60000 // 64
ae_iters, gan_iters = 100 * iters_per_epoch, 100 * iters_per_epoch
model = dict(ae_iters=ae_iters, lcc_cfg=dict(init='random'))
optim_wrapper = dict(autoencoder=dict(optimizer=dict(lr=1e-4)))
max_iters = ae_iters + gan_iters
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
