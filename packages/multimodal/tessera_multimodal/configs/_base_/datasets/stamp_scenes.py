# StampScenes: scenes of 1-3 real Tux Paint stamps (Debian `tuxpaint-stamps-default`) on 96x96 canvases, with
# exact boxes and short / medium / long captions of the same image; train and test scenes use disjoint stamps.
# Without /usr/share/tuxpaint/stamps the dataset raises an error naming the folder and
# `sudo apt-get install tuxpaint-stamps-default`; the always-available default stays CaptionedDigits.
dataset_type = 'StampScenes'
scene_data = dict(type=dataset_type, num_train=2000, num_test=500, size=(96, 96), max_objects=3,
                  test_fraction=0.2, split_seed=0, seed=0, max_description_words=8)
pack = dict(type='PackClsInputs', meta_keys=('sample_idx', 'img_shape', 'caption', 'captions', 'gt_bboxes',
                                             'num_objects', 'stamps'))
train_pipeline = [pack]
test_pipeline = [pack]
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(scene_data, split='train', caption_level='medium', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(scene_data, split='test', caption_level='medium', pipeline=test_pipeline))
test_dataloader = val_dataloader
