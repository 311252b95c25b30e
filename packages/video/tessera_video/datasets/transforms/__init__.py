from .action_formatting import FormatShape, PackActionInputs
from .formatting import PackVideoInputs
from .loading import SampleFrames, VideoDecode, VideoInit
from .pose_transforms import PoseCenterCrop, PoseCentralize, PoseRandomCrop, PoseResize
from .processing import CenterCrop, RandomCrop, Resize
from .speed_sampling import RSPSampleFrames

__all__ = ['PackVideoInputs', 'FormatShape', 'PackActionInputs', 'SampleFrames', 'VideoDecode', 'VideoInit',
           'CenterCrop', 'RandomCrop', 'Resize', 'PoseCenterCrop', 'PoseCentralize', 'PoseRandomCrop',
           'PoseResize', 'RSPSampleFrames']
