# The no-shift baseline of tsm_resnet18-w16_moving-digits.py (TSN: per-frame 2D ResNet-18 + average
# consensus): same data, model width and schedule, plain tessera-core ResNet instead of ResNetTSM.
# Its clip score is invariant to the order of the frames, so it cannot tell opposite directions apart.
_base_ = ['./tsm_resnet18-w16_moving-digits.py']
model = dict(backbone=dict(_delete_=True, type='ResNet', depth=18, in_channels=1, stem='imagenet',
                           base_channels=16))
