from .action_data_preprocessor import ActionDataPreprocessor
from .skeleton_data_preprocessor import SkeletonDataPreprocessor
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ['ActionDataPreprocessor', 'SkeletonDataPreprocessor', 'VideoDataPreprocessor']
