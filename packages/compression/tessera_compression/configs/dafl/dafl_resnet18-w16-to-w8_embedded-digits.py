# DAFL (Data-Free Learning of Student Networks, Chen et al., ICCV 2019, arXiv:1904.01186) with the
# teacher/student of distill/kd_resnet18-w16-to-w8_embedded-digits.py: teacher tessera-core's demo network
# (quarter-width ResNet-18, trained on the 4,000 embedded real MNIST digits), student the eighth-width
# ResNet-18. Training reads no real image: the dataloader yields noise seeds, the generator turns them
# into 28 x 28 images; the 1,000 held-out real digits serve validation of the student only.
# Official MNIST recipe (DAFL-train.py): losses one-hot 1, activation 0.1, information entropy 5 (log10);
# KD at T = 1; Adam lr 0.2 (generator) and 2e-3 (student), constant; latent 100; batch 512, 120 iterations
# x 200 epochs. Here: batch 128, 50 iterations per epoch, 8 epochs (CPU budget; see README.md).
# Train the teacher first (about a minute):
#   mim train tessera-core demo/resnet18-w16_embedded-digits.py --work-dir work_dirs/teacher_resnet18-w16
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
teacher_cfg = 'tessera_core::demo/resnet18-w16_embedded-digits.py'
teacher_ckpt = 'work_dirs/teacher_resnet18-w16/epoch_8.pth'
# The teacher's inputs are (x - 127.5) / 127.5; MNIST's published pixel mean / std (0.1307 / 0.3081)
# in that space, so the generator's standardised output lands where the teacher's real inputs are.
image_mean, image_std = (0.1307 * 255 - 127.5) / 127.5, 0.3081 * 2
batch_size, iters_per_epoch, max_epochs = 128, 50, 8
model = dict(
    type='DAFL',
    student=dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,))),
    teacher=teacher_cfg,
    teacher_ckpt=teacher_ckpt,
    generator=dict(type='ConvGenerator', img_size=28, latent_dim=100, out_channels=1, base_channels=128,
                   out_mean=image_mean, out_std=image_std),
    student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    teacher_recorders=dict(
        logits=dict(type='MethodOutputsRecorder', source='head.forward'),
        features=dict(type='MethodOutputsRecorder', source='head.pre_logits')),  # (N, 128): the fc's input
    generator_losses=dict(
        loss_oh=dict(type='OnehotLikeLoss', loss_weight=1.0),
        loss_a=dict(type='ActivationLoss', loss_weight=0.1),
        loss_ie=dict(type='InformationEntropyLoss', loss_weight=5.0, log_base=10)),
    generator_loss_forward_mappings=dict(
        loss_oh=dict(preds_T=dict(from_student=False, recorder='logits')),
        loss_a=dict(feats_T=dict(from_student=False, recorder='features')),
        loss_ie=dict(preds_T=dict(from_student=False, recorder='logits'))),
    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=1.0, loss_weight=1.0)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'))),
)
train_dataloader = dict(
    batch_size=batch_size,
    dataset=dict(_delete_=True, type='NoiseSeedDataset', length=batch_size * iters_per_epoch))
optim_wrapper = dict(
    constructor='SubmoduleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=0.2)),
    student=dict(optimizer=dict(type='Adam', lr=2e-3)))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
