# AdamBNN step 2: binary weights AND activations (W1/A1), initialised from step 1's last
# checkpoint (the official step 2 loads step 1's model), Adam lr 1.25e-3 (batch 256) with linear
# decay to 0, weight decay 0. Run step 1 first from the same directory:
#   mim train tessera-compression adambnn/adambnn-step1_reactnet-a-w025_adam_fashion-mnist.py
#   mim train tessera-compression adambnn/adambnn-step2_reactnet-a-w025_adam_fashion-mnist.py
# (with --work-dir for step 1, point step 2 at it: --cfg-options load_from=<dir>/epoch_2.pth).
# Step 1 and step 2 models have the same parameters, so every tensor of step 1 is loaded.
_base_ = ['../reactnet/reactnet-a-w025_fashion-mnist.py']

model = dict(backbone=dict(weight_bits=1, act_bits=1))
max_epochs = 2
optim_wrapper = dict(optimizer=dict(weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
load_from = 'work_dirs/adambnn-step1_reactnet-a-w025_adam_fashion-mnist/epoch_2.pth'
