# The "normal distribution" row of DAFL's Table 1: LeNet-5-half distilled from the LeNet-5 teacher on
# standard normal noise images (the standardised input space of the teacher) instead of a trained
# generator; same KD loss, student optimizer and budget as dafl_lenet5-to-lenet5-half_embedded-digits.py.
_base_ = ['./dafl_lenet5-to-lenet5-half_embedded-digits.py']
model = dict(
    _delete_=True,
    type='DataFreeDistillation',
    student={{_base_.student}},
    teacher={{_base_.teacher_cfg}},
    teacher_ckpt={{_base_.teacher_ckpt}},
    generator=dict(type='NoiseImages', img_size=32, out_channels=1, mean=0.0, std=1.0),
    generator_iters=0,
    student_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=1.0, loss_weight=1.0)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'))))
optim_wrapper = dict(_delete_=True, constructor='SubmoduleOptimWrapperConstructor',
                     student=dict(optimizer=dict(type='Adam', lr=2e-3)))
