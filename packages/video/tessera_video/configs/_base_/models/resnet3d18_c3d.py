# A 3D ResNet-18 on clips (N, num_clips, C, T, H, W) (mmaction2's Recognizer3D layout): C3D-style, every 3x3 conv
# of the basic blocks inflated to 3x3x3, 3x7x7 stem; spatiotemporal average pooling, dropout, linear classifier
# (I3DHead). At test time the softmax scores of a video's clips (views) are averaged.
model = dict(
    type='Recognizer3D',
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5], std=[127.5], format_shape='NCTHW'),
    backbone=dict(type='ResNet3d', depth=18, variant='c3d', in_channels=1, base_channels=64, stem='imagenet'),
    cls_head=dict(type='I3DHead', num_classes=4, in_channels=512, dropout=0.5, init_std=0.01,
                  average_clips='prob', loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
