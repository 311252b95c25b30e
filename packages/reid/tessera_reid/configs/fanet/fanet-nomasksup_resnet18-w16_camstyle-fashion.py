# FANet as the paper trains it: no mask annotation, the soft mask learned from the identity, camera and target
# attention losses alone (the mask supervision removed). Otherwise fanet_resnet18-w16_camstyle-fashion.py;
# the true masks are still packed, only to score the learned mask at validation (mask/IoU).
_base_ = ['./fanet_resnet18-w16_camstyle-fashion.py']
model = dict(head=dict(loss_mask=None))
