# The "normal distribution" baseline of DAFL's Table 1: the same student distilled from the same teacher,
# with the same KD loss, optimizer and budget as dafl_resnet18-w16-to-w8_embedded-digits.py, on images of
# Gaussian noise (mean / std of MNIST's pixels in the teacher's input space) instead of a trained generator.
_base_ = ['./dafl_resnet18-w16-to-w8_embedded-digits.py']
model = dict(
    _delete_=True,
    type='DataFreeDistillation',
    student={{_base_.model.student}},
    teacher={{_base_.teacher_cfg}},
    teacher_ckpt={{_base_.teacher_ckpt}},
    generator=dict(type='NoiseImages', img_size=28, out_channels=1, mean={{_base_.image_mean}},
                   std={{_base_.image_std}}),
    generator_iters=0,
    student_recorders={{_base_.model.student_recorders}},
    teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')),
    distill_losses={{_base_.model.distill_losses}},
    loss_forward_mappings={{_base_.model.loss_forward_mappings}},
)
optim_wrapper = dict(_delete_=True, constructor='SubmoduleOptimWrapperConstructor',
                     student=dict(optimizer=dict(type='Adam', lr=2e-3)))
