# AdamBNN step 1 (arXiv:2106.11309, official run.sh of https://github.com/liuzechun/AdamBNN):
# binary activations (RSign), REAL weights, Adam lr 1.25e-3 (batch 256) with linear decay to 0,
# weight decay 5e-6 on the convolution weights and the RSign / RPReLU shifts. Step 2
# (adambnn-step2_reactnet-a-w025_adam_fashion-mnist.py) binarizes the weights too, starting from
# this run's last checkpoint, with weight decay 0: the paper's finding is that weight decay
# helps while the weights are real (it lowers the dependence on the initialisation) but
# destabilises binary weights (more sign flips), so it is used in step 1 only.
# Network, data and loss: ../reactnet/reactnet-a-w025_fashion-mnist.py (2 of its 4 epochs here).
_base_ = ['../reactnet/reactnet-a-w025_fashion-mnist.py']

model = dict(backbone=dict(weight_bits=32, act_bits=1))
max_epochs = 2
optim_wrapper = dict(optimizer=dict(weight_decay=5e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
