# CBN (Zhuang et al., ECCV 2020, arXiv:2001.08680) on the CamStyle-ReID fashion domain: the BNNeck baseline of
# strong_baseline/bnneck_resnet18-w16_camstyle-fashion-6e.py (quarter-width ResNet-18, 3x3 stem, last stride 2,
# BNNeck, label-smoothed ID + batch-hard triplet loss, PK 8 x 4, random erasing, 6 epochs of Adam 1e-3 with a
# 1-epoch warm-up, x0.1 after epoch 5) with every BatchNorm (backbone and BNNeck) camera-based: each training batch
# normalised camera-wise (a camera's single sample dropped), shared affine weights; before every validation/test the
# per-camera statistics are re-estimated on the evaluation set's cameras (up to 3,200 images per camera, cumulative
# average of 64-image batches, flipped copies included), without labels.
_base_ = ['../strong_baseline/bnneck_resnet18-w16_camstyle-fashion-6e.py']
model = dict(type='CBNReIDModel', num_cameras=6, momentum=None, unseen_camera='error',
             drop_single_camera_samples=True)
custom_hooks = [
    dict(type='CameraBNStatsHook', num_per_camera=3200, batch_size=64, flip=True, seed=0, log_layers=4),
    dict(type='RankedGalleryHook', num_queries=6, topk=8, cell=(48, 48)),
]
