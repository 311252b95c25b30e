# TSM: a 2D ResNet-18 applied to every frame with a temporal shift (1/8 of the channels one frame back, 1/8
# one frame forward, zero padded) before the first conv of every residual branch; per-frame global average
# pooling, per-frame linear classifier, average consensus over the T frames.
num_segments = 8
model = dict(
    type='Recognizer2D',
    data_preprocessor=dict(type='VideoDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNetTSM', num_segments=num_segments, shift_div=8, shift_place='blockres',
                  depth=18, in_channels=1, stem='imagenet', base_channels=64),
    neck=dict(type='GlobalAveragePooling'),
    cls_head=dict(type='TSNHead', num_classes=4, in_channels=512, dropout=0.5, consensus='avg',
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
