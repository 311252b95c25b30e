from .builder import get_model
from .cli import test_main, train_main
from .inference import inference_model
from .inference_pipeline import LoadInferenceImage, build_inference_pipeline
from .model_zoo import ModelInfo, find_model, list_models
from .output_adapters import OutputAdapter, get_output_adapter, register_output_adapter
from .classification_adapter import ClsOutputAdapter
from .segmentation_adapter import SegOutputAdapter

__all__ = ['train_main', 'test_main', 'get_model', 'list_models', 'find_model', 'ModelInfo',
           'inference_model', 'LoadInferenceImage', 'build_inference_pipeline', 'OutputAdapter',
           'ClsOutputAdapter', 'SegOutputAdapter', 'register_output_adapter', 'get_output_adapter']
