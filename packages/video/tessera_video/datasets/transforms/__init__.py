from .action_formatting import FormatShape, PackActionInputs
from .formatting import PackVideoInputs
from .loading import SampleFrames, VideoDecode, VideoInit
from .processing import CenterCrop, RandomCrop, Resize

__all__ = ['PackVideoInputs', 'FormatShape', 'PackActionInputs', 'SampleFrames', 'VideoDecode', 'VideoInit',
           'CenterCrop', 'RandomCrop', 'Resize']
