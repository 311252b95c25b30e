# The comparison point of the strong baseline on CamStyle-ReID: the BNNeck baseline of configs/camstyle
# (label smoothing, batch-hard triplet, PK, random erasing, warm-up; last stride 2, no center loss) on the strong
# baseline config's 6-epoch schedule, so that the two differ only by last stride 1 and center loss.
_base_ = ['./strong-baseline_resnet18-w16_camstyle-fashion.py']
model = dict(backbone=dict(strides=(1, 2, 2, 2)), head=dict(loss_center=None))
