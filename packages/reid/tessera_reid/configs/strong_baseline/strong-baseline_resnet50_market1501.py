# The paper's setting with all tricks and center loss (Luo et al., arXiv:1903.07071; official
# configs/softmax_triplet_with_center.yml): ResNet-50 with last stride 1, BNNeck, label smoothing 0.1, triplet
# margin 0.3, center loss weight 0.0005 with its own SGD (lr 0.5), 256x128 inputs, flip + 10 px pad/crop +
# random erasing 0.5, P=16 x K=4, Adam 3.5e-4 (weight decay 5e-4), 10 warm-up epochs from 0.01x, x0.1 at
# epochs 40 and 70, 120 epochs; inference on the L2-normalised post-BN feature.
# Not run here: it needs the Market-1501 release in data/market1501 and ImageNet-pretrained weights
# (load_from / init_cfg), neither of which is shipped or downloaded.
_base_ = ['../bnneck/bnneck_resnet50_market1501.py']
model = dict(head=dict(loss_center=dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5)))
