# The SGD counterpart of adambnn-step1_reactnet-a-w025_adam_fashion-mnist.py, for the AdamBNN
# claim that Adam trains BNNs better than SGD: everything equal (network, data, two steps,
# epochs, linear decay, weight decay 5e-6 in step 1 on the same parameters) except the
# optimizer, SGD with momentum 0.9 at lr 0.03 for batch 256 (the official code has no SGD script; 0.03
# was the best step-1 lr of 0.01 / 0.03 / 0.1 on seed 0 -- 0.1, the usual ImageNet value, went to NaN
# within 110 iterations; see README.md).
_base_ = ['./adambnn-step1_reactnet-a-w025_adam_fashion-mnist.py']

optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.03, momentum=0.9, weight_decay=5e-6))
