# LCCGAN (d = 3) at 28 px on Fashion-MNIST: lccgan_d3_embedded-digits.py (official LCC defaults, 200 autoencoder
# + 300 GAN iterations, the DCGAN networks of configs/dcgan/) with only the data and the metrics' feature network
# changed, exactly as ../dcgan/dcgan_fashion-mnist.py changes its digits config: the first 4,000 training images
# of Debian's dataset-fashion-mnist (tessera-core's FashionMNIST), evaluated on the first 1,000 test images in
# the features of ../_base_/featnet-w32_fashion-mnist.py. See README.md (Measured, Fashion-MNIST).
_base_ = ['./lccgan_d3_embedded-digits.py']

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
