"""Reader of NTU RGB+D / NTU RGB+D 120 ``.skeleton`` text files (https://rose1.ntu.edu.sg/dataset/actionRecognition/).

Layout (one value group per line), as the dataset's release and its official loader
(https://github.com/shahroudy/NTURGB-D, ``Matlab/read_skeleton_file.m``) describe it::

    <number of frames>
    per frame:  <number of bodies>
      per body: <bodyID clippedEdges handLeftConfidence handLeftState handRightConfidence handRightState
                 isRestricted leanX leanY trackingState>
                <number of joints>  (25)
                per joint: <x y z depthX depthY colorX colorY orientationW orientationX orientationY orientationZ
                            trackingState>

``x y z`` are camera-space metres. File names ``SsssCcccPpppRrrrAaaa`` give setup, camera, performer,
replication and action (1-based); the label is ``A - 1``.
"""
import os.path as osp
import re
from typing import Dict, List, Optional

import numpy as np

from tessera_video.datasets.ntu_layout import NUM_JOINTS

NAME_RE = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')
BODY_FIELDS = 10
JOINT_FIELDS = 12


class SkeletonFileError(ValueError):
    """A malformed ``.skeleton`` file; the message names the file and the line."""


def parse_ntu_name(name: str) -> Optional[Dict[str, int]]:
    """``'S001C002P003R001A042'`` -> ``dict(setup=1, camera=2, performer=3, replication=1, action=42)``."""
    m = NAME_RE.search(osp.basename(name))
    if m is None:
        return None
    return dict(zip(('setup', 'camera', 'performer', 'replication', 'action'), map(int, m.groups())))


def read_ntu_skeleton(path: str, num_joints: int = NUM_JOINTS) -> dict:
    """Read one ``.skeleton`` file.

    Returns:
        dict: ``frame_dir`` (file name without extension), ``total_frames`` T, ``keypoint`` (M, T, V, 3) float32
        camera-space x y z of the M distinct bodies (in order of first appearance; zeros where a body is absent),
        ``body_ids`` (M,), ``bodies_per_frame`` (T,), ``label`` (action - 1, if the name carries it) and the
        name's fields.

    Raises:
        SkeletonFileError: naming the file and line for a wrong joint count (and the count found), a short or
            non-numeric line, or a file that ends early.
    """
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    pos = 0

    def take(what: str, count: Optional[int] = None) -> List[str]:
        nonlocal pos
        while pos < len(lines) and not lines[pos]:
            pos += 1
        if pos >= len(lines):
            raise SkeletonFileError(f'{path}: the file ends at line {pos} while reading {what}')
        fields = lines[pos].split()
        pos += 1
        if count is not None and len(fields) < count:
            raise SkeletonFileError(f'{path}, line {pos}: {what} needs {count} values, found {len(fields)}')
        return fields

    def take_int(what: str) -> int:
        fields = take(what, 1)
        try:
            return int(fields[0])
        except ValueError:
            raise SkeletonFileError(f'{path}, line {pos}: {what} must be an integer, got {fields[0]!r}') from None

    num_frames = take_int('the number of frames')
    frames: List[Dict[str, np.ndarray]] = []
    order: List[str] = []
    bodies_per_frame = np.zeros(num_frames, dtype=np.int64)
    for t in range(num_frames):
        num_bodies = take_int(f'the number of bodies of frame {t}')
        bodies_per_frame[t] = num_bodies
        frame = {}
        for b in range(num_bodies):
            body_id = take(f'the info line of body {b} in frame {t}', BODY_FIELDS)[0]
            joints = take_int(f'the joint count of body {b} in frame {t}')
            if joints != num_joints:
                raise SkeletonFileError(f'{path}, line {pos}: body {b} of frame {t} has {joints} joints, expected '
                                        f'{num_joints} (NTU RGB+D layout)')
            xyz = np.empty((num_joints, 3), dtype=np.float32)
            for v in range(num_joints):
                fields = take(f'joint {v} of body {b} in frame {t}', JOINT_FIELDS)
                try:
                    xyz[v] = [float(x) for x in fields[:3]]
                except ValueError:
                    raise SkeletonFileError(f'{path}, line {pos}: joint {v} of body {b} in frame {t} is not '
                                            f'numeric: {lines[pos - 1]!r}') from None
            frame[body_id] = xyz
            if body_id not in order:
                order.append(body_id)
        frames.append(frame)
    keypoint = np.zeros((len(order), num_frames, num_joints, 3), dtype=np.float32)
    for t, frame in enumerate(frames):
        for body_id, xyz in frame.items():
            keypoint[order.index(body_id), t] = xyz
    out = dict(frame_dir=osp.splitext(osp.basename(path))[0], total_frames=num_frames, keypoint=keypoint,
               body_ids=tuple(order), bodies_per_frame=bodies_per_frame)
    fields = parse_ntu_name(path)
    if fields is not None:
        out.update(fields, label=fields['action'] - 1)
    return out
