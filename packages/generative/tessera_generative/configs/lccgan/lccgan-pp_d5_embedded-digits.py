# LCCGAN++ (Cao et al., "Improving GANs with Local Coordinate Coding", arXiv:2008.00942): the LCCGAN config with
# the official LCCGAN-v2 stage-2 objective (the higher-order locality term |g| ||x - v||^3, L_v = 1e-4, L_h = 1,
# lambda = 0.2) and its input size nz = d = 5. Deviation: the same DCGAN generator / discriminator as LCCGAN
# (the official v2 code uses a progressive-GAN-style network); see README.md.
_base_ = ['./lccgan_d3_embedded-digits.py']

local_size = 5
model = dict(noise_size=local_size, generator=dict(local_size=local_size),
             lcc_cfg=dict(order=3, lg=1e-4, lam=0.2))
