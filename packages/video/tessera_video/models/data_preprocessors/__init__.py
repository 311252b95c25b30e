from .action_data_preprocessor import ActionDataPreprocessor
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ['ActionDataPreprocessor', 'VideoDataPreprocessor']
