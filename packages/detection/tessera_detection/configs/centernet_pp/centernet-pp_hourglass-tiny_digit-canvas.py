# CenterNet++, single-resolution variant: the keypoint-triplet head of ./centernet-pp_resnet18-w16_fpn_digit-canvas.py
# on mmdet's HourglassNet (the backbone of the official Duankaiwen/CenterNet), scaled down for CPU: 2 stacks,
# 3 down-samplings below the stride-4 stem (the official 104/52 use 5), 64-128 channels, no neck; as in the official
# hourglass models the head runs on the output of every stack in training (num_feat_levels=2, intermediate
# supervision) and on the last stack's at test. Stride 4: a 32x32 map on the 128 px canvases.
# Status smoke: trains end to end (tests/test_centernet_pp_mim_smoke.py). Measured once (seed 0) on the shorter
# schedule of ./centernet-pp_hourglass-tiny_b8-300it_digit-canvas.py (batch 8, 300 iterations; README.md), not
# at this config's batch 16 x 600 iterations (about 80 CPU-minutes).
_base_ = ['./centernet-pp_resnet18-w16_fpn_digit-canvas.py']

model = dict(
    backbone=dict(_delete_=True, type='HourglassNet', downsample_times=3, num_stacks=2,
                  stage_channels=(64, 64, 96, 128), stage_blocks=(1, 1, 1, 2), feat_channel=64),
    neck=None,
    bbox_head=dict(in_channels=64, num_feat_levels=2))
