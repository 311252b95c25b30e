# The real-data reference of DAFL's Table 1 ("KD"): LeNet-5-half distilled from the LeNet-5 teacher of
# lenet5_embedded-digits.py on the 4,000 real digits (cross-entropy + Hinton KD at T = 4, weight 1),
# with the teacher's data, optimizer and schedule.
# Train the teacher first:
#   mim train tessera-compression dafl/lenet5_embedded-digits.py --work-dir work_dirs/teacher_lenet5
_base_ = ['./lenet5_embedded-digits.py']
teacher_cfg = 'tessera_compression::dafl/lenet5_embedded-digits.py'
teacher_ckpt = 'work_dirs/teacher_lenet5/epoch_20.pth'
student = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.1307 * 255], std=[0.3081 * 255]),
    backbone=dict(type='LeNet5', arch='half'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=42,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)))
model = dict(
    _delete_=True,
    type='DistillationModel',
    student=student,
    teacher=teacher_cfg,
    teacher_ckpt=teacher_ckpt,
    student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4.0, loss_weight=1.0)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'))))
