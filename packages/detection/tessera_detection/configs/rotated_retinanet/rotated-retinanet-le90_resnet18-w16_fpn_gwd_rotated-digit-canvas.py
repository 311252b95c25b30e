# GWD (Yang et al., ICML 2021) on the rotated RetinaNet baseline: the decoded boxes are regressed with the
# Gaussian Wasserstein distance loss; everything else (detector, anchors, coder, assigner, schedule) is the
# smooth-L1 config's. Loss settings of the authors' mmrotate GWD config (GDLoss(loss_type='gwd'),
# loss_weight=5.0): f = log1p of the normalised distance, tau = 0.
_base_ = ['./rotated-retinanet-le90_resnet18-w16_fpn_smoothl1_rotated-digit-canvas.py']
model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(_delete_=True, type='GWDLoss', fun='log1p', tau=0.0, normalize=True, loss_weight=5.0)))
