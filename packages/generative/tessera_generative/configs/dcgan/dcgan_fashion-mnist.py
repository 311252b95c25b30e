# DCGAN at 28 px on Fashion-MNIST: dcgan_embedded-digits.py with only the data and the metrics' feature network
# changed. Trains on the first 4,000 training images of Debian's dataset-fashion-mnist (tessera-core's
# FashionMNIST dataset; as many images as the embedded digits' training set, 28 px as there, no augmentation);
# evaluated on the first 1,000 test images with FID / IS / precision-recall (k = 3) in the features of a
# classifier trained on those 4,000 images (../_base_/featnet-w32_fashion-mnist.py, its own cache entry).
# The baseline of LCCGAN's Fashion-MNIST comparison (model.noise_size=3), see ../lccgan/README.md.
_base_ = ['./dcgan_embedded-digits.py']

fashion_root = '/usr/share/datasets/fashion-mnist'
train_dataloader = dict(dataset=dict(
    _delete_=True, type='FashionMNIST', data_root=fashion_root, split='train', indices=4000,
    pipeline=[dict(type='PackClsInputs')]))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='FashionMNIST', data_root=fashion_root, split='test', indices=1000,
    pipeline=[dict(type='PackClsInputs')]))
test_dataloader = val_dataloader

feature_net = 'tessera_generative::_base_/featnet-w32_fashion-mnist.py'
features = dict(type='TrainedFeatureExtractor', config=feature_net, output='features')
val_evaluator = [
    dict(type='FrechetInceptionDistance', sample_model='orig', feature_extractor=features),
    dict(type='InceptionScore', sample_model='orig', splits=10,
         feature_extractor=dict(type='TrainedFeatureExtractor', config=feature_net, output='logits')),
    dict(type='PrecisionAndRecall', sample_model='orig', k=3, feature_extractor=features),
    dict(type='FrechetInceptionDistance', sample_model='ema', prefix='FID-EMA', feature_extractor=features),
]
test_evaluator = val_evaluator
