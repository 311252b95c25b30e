# DAFL at the paper's MNIST setting (Data-Free Learning of Student Networks, Chen et al., ICCV 2019,
# arXiv:1904.01186, Table 1): LeNet-5 teacher (lenet5_embedded-digits.py, trained on the 4,000 embedded real
# digits) -> LeNet-5-half student trained on generated 32 x 32 images only; the dataloader yields noise
# seeds, no real image is read in training; the 1,000 held-out real digits validate the student.
# Official MNIST recipe (DAFL-train.py), kept: generator of the official code (latent 100), losses one-hot 1,
# activation 0.1, information entropy 5 (log10), KD at T = 1, Adam lr 0.2 (generator) and 2e-3 (student),
# constant. Official budget: batch 512 x 120 iterations x 200 epochs and a generator of 128 base channels;
# here batch 128, 100 iterations per epoch, 10 epochs and 32 base channels (CPU budget, see README.md).
# Official sizes: --cfg-options model.generator.base_channels=128 train_dataloader.batch_size=512 \
#   train_dataloader.dataset.length=61440 train_cfg.max_epochs=200
# Train the teacher first:
#   mim train tessera-compression dafl/lenet5_embedded-digits.py --work-dir work_dirs/teacher_lenet5
_base_ = ['./lenet5_embedded-digits.py']
teacher_cfg = 'tessera_compression::dafl/lenet5_embedded-digits.py'
teacher_ckpt = 'work_dirs/teacher_lenet5/epoch_20.pth'
batch_size, iters_per_epoch, max_epochs = 128, 100, 10
student = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.1307 * 255], std=[0.3081 * 255]),
    backbone=dict(type='LeNet5', arch='half'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=42,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)))
model = dict(
    _delete_=True,
    type='DAFL',
    student=student,
    teacher=teacher_cfg,
    teacher_ckpt=teacher_ckpt,
    # The teacher's inputs are standardised digits; the generator's last BatchNorm standardises its output.
    generator=dict(type='ConvGenerator', img_size=32, latent_dim=100, out_channels=1, base_channels=32),
    student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    teacher_recorders=dict(
        logits=dict(type='MethodOutputsRecorder', source='head.forward'),
        features=dict(type='ModuleOutputsRecorder', source='backbone.relu3')),  # (N, 120, 1, 1), as lenet.py
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
        preds_T=dict(from_student=False, recorder='logits'))))
train_dataloader = dict(
    batch_size=batch_size,
    dataset=dict(_delete_=True, type='NoiseSeedDataset', length=batch_size * iters_per_epoch))
optim_wrapper = dict(
    _delete_=True,
    constructor='SubmoduleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=0.2)),
    student=dict(optimizer=dict(type='Adam', lr=2e-3)))
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
