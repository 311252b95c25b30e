# KLD (Yang et al., NeurIPS 2021) on the rotated RetinaNet baseline: the decoded boxes are regressed with the
# Kullback-Leibler divergence loss 1 - 1 / (tau + log1p(D_kl)); everything else is the smooth-L1 config's.
# Loss settings of the authors' mmrotate 1.x KLD config (fun='log1p', tau=1, loss_weight=1.0).
_base_ = ['./rotated-retinanet-le90_resnet18-w16_fpn_smoothl1_rotated-digit-canvas.py']
model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(_delete_=True, type='KLDLoss', fun='log1p', tau=1.0, sqrt=False, loss_weight=1.0)))
