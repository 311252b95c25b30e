# ResNet-18 with a 3x3/1 stem for 28 px grey images.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=64),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,)),
)
