# The classifier around every Fashion-MNIST backbone config: grey 28 px inputs normalised with the
# dataset's statistics (mean 72.94, std 90.02 on 0-255), global average pooling; configs add the
# backbone and the head of their paper.
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]),
    neck=dict(type='GlobalAveragePooling'),
)
