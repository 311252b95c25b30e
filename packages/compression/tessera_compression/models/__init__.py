from .converter import CONVERTIBLE_LAYERS, convert_to_quantized, convertible_layer_names
from .layers import LSQConv2d, LSQLinear, QuantConv2d, QuantLinear
from .quantized_model import QuantizedModel
from .quantizers import (FULL_PRECISION_BITS, SUPPORTED_BITS, LSQQuantizer, N2UQActivationQuantizer,
                         N2UQWeightQuantizer, QuantLevels, Quantizer, build_quantizer, check_bits, grad_scale,
                         quant_range, round_pass)

__all__ = ['LSQConv2d', 'LSQLinear', 'QuantConv2d', 'QuantLinear', 'QuantizedModel',
           'CONVERTIBLE_LAYERS', 'convert_to_quantized', 'convertible_layer_names', 'FULL_PRECISION_BITS',
           'SUPPORTED_BITS', 'LSQQuantizer', 'N2UQActivationQuantizer', 'N2UQWeightQuantizer', 'QuantLevels',
           'Quantizer', 'build_quantizer', 'check_bits', 'grad_scale', 'quant_range', 'round_pass']
from .backbones import LeNet5  # noqa: F401  (DAFL teacher / student)
from .binary import BinaryConv2d, ReActNet, RPReLU, RSign  # noqa: F401  (ReActNet / AdamBNN)
from .data_free import DAFL, ConvGenerator, DataFreeDistillation, NoiseImages  # noqa: F401  (data-free distillation)
from .distillers import DistillationModel, TeacherCheckpointError  # noqa: F401  (distillation)
from .distillers import BINGO, SEED  # noqa: F401  (self-supervised distillation)
from .losses import InfoNCELoss, KLDivergence  # noqa: F401
from .losses import BINGOLoss, SEEDLoss  # noqa: F401
from .recorders import MethodOutputsRecorder, ModuleInputsRecorder, ModuleOutputsRecorder, RecorderManager  # noqa: F401
from .selfsup import MLPProjector, MoCoV2  # noqa: F401  (self-supervised pretraining)
from .abs import ABSDerivedModel, ABSQuantizer, ABSSuperNet, SuperBitQuantizer  # noqa: F401  (ABS search)
