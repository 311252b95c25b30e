from .adversarial import adversarial_accuracy, classifier_logits_fn, fgsm, pgd
from .complexity import count_parameters, get_flops
from .run_logs import iter_run_scalars
from .conv_operator_norms import conv2d_explicit_matrix, conv2d_operator_norm, linear_operator_norm, matrix_operator_norm, module_operator_norm  # noqa: E501

__all__ = ['count_parameters', 'get_flops']
__all__ += ['conv2d_explicit_matrix', 'conv2d_operator_norm', 'linear_operator_norm', 'matrix_operator_norm', 'module_operator_norm']  # noqa: E501
__all__ += ['adversarial_accuracy', 'classifier_logits_fn', 'fgsm', 'pgd']
__all__ += ['iter_run_scalars']
