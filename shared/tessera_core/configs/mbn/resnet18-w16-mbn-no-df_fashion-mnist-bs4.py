# Ablation of resnet18-w16-mbn_fashion-mnist-bs4.py: Memorized Batch Normalization (k = 4) without
# the Double-Forward hook, i.e. each memorised entry keeps the statistics measured before its SGD
# update (the paper's "MBN w/o Double-Forward").
_base_ = './resnet18-w16-mbn_fashion-mnist-bs4.py'
custom_hooks = []
