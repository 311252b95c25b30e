# The SGD counterpart of adambnn-step2_reactnet-a-w025_adam_fashion-mnist.py: W1/A1 from the SGD
# step 1's last checkpoint, SGD momentum 0.9 lr 0.03 (batch 256), linear decay, weight decay 0.
#   mim train tessera-compression adambnn/adambnn-step1_reactnet-a-w025_sgd_fashion-mnist.py
#   mim train tessera-compression adambnn/adambnn-step2_reactnet-a-w025_sgd_fashion-mnist.py
_base_ = ['./adambnn-step2_reactnet-a-w025_adam_fashion-mnist.py']

optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.03, momentum=0.9, weight_decay=0.0))
load_from = 'work_dirs/adambnn-step1_reactnet-a-w025_sgd_fashion-mnist/epoch_2.pth'
