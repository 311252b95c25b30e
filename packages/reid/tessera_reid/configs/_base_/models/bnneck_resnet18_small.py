# The strong baseline on a ResNet-18 with a 3x3/1 stem for 28 px grey images: global average pooling,
# BNNeck, label-smoothed ID loss (epsilon 0.1) on the bias-free classifier, batch-hard triplet loss
# (margin 0.3) on the pooled pre-BN feature; inference embedding = L2-normalised post-BN feature.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=64),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='BNNeckHead', num_classes=5, in_channels=512,
        loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.1),
        loss_triplet=dict(type='TripletLoss', margin=0.3),
        neck_feat='after', normalize=True, topk=(1,)),
)
