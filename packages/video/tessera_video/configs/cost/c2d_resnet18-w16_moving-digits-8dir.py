# C2D baseline of the CoST comparison: the quarter-width 3D ResNet-18 of resnet3d/ (grey input, ImageNet stem,
# 4-frame training windows of the 8-frame 48x48 clips, 2 test views averaged, 2 epochs of 4,000 clips) as the
# official ResNet3dCoST with no inflated block: 1x7x7 stem, padded 1x3x3 stem pool, 1x3x3 convs, a 2x1x1 /
# stride-2 temporal max pool after stage 1. Moving digits in 8 directions (the 4 axis-aligned and the 4
# diagonal ones). costa_ / costb_ / c3d_ configs change only the inflated convs.
_base_ = ['../resnet3d/c3d_resnet18-w16_moving-digits.py']
num_directions = 8
model = dict(
    backbone=dict(_delete_=True, type='ResNet3dCoST', depth=18, st_conv='3x3x3', inflate=(0, 0, 0, 0),
                  in_channels=1, base_channels=16, stem='imagenet'),
    cls_head=dict(num_classes=num_directions))
train_dataloader = dict(dataset=dict(num_directions=num_directions))
val_dataloader = dict(dataset=dict(num_directions=num_directions))
test_dataloader = dict(dataset=dict(num_directions=num_directions))
