from .moving_digits import DIRECTIONS, MovingDigits, render_clip
from .ntu_layout import NTU_BONES, NTU_JOINTS, NTU_PARENTS
from .ntu_skeleton import SkeletonFileError, read_ntu_skeleton
from .pose_dataset import PoseDataset, load_pose_annotations
from .synthetic_skeletons import SyntheticSkeletonActions
from .temporal_annotations import (TemporalAnnotationError, dump_activitynet_json, load_activitynet_json,
                                   load_thumos_annotations)
from .transforms import (CenterCrop, FormatShape, PackActionInputs, PackVideoInputs, RandomCrop, Resize,
                         RSPSampleFrames, SampleFrames, VideoDecode, VideoInit)
from .untrimmed_moving_digits import UntrimmedMovingDigits
from .video_dataset import VideoDataset, load_video_list
from .video_reader import ArrayVideoReader, VideoDecodeError, VideoReader

__all__ = ['DIRECTIONS', 'MovingDigits', 'render_clip', 'PackVideoInputs',
           'NTU_BONES', 'NTU_JOINTS', 'NTU_PARENTS', 'SkeletonFileError', 'read_ntu_skeleton', 'PoseDataset',
           'load_pose_annotations', 'SyntheticSkeletonActions', 'TemporalAnnotationError', 'dump_activitynet_json',
           'load_activitynet_json', 'load_thumos_annotations', 'CenterCrop', 'FormatShape', 'PackActionInputs',
           'RandomCrop', 'Resize', 'RSPSampleFrames', 'SampleFrames', 'VideoDecode', 'VideoInit',
           'UntrimmedMovingDigits', 'VideoDataset', 'load_video_list', 'ArrayVideoReader', 'VideoDecodeError',
           'VideoReader']
from .snippet_features import SnippetFeatureDataset  # noqa: F401
