"""SYNTHETIC skeleton actions: a 25-joint NTU RGB+D-layout kinematic figure, built from a seed.

No real human-skeleton or motion-capture data is reachable offline, so this set stands in for NTU RGB+D in
tests and CPU-sized experiments; it is not real motion and numbers on it say nothing about NTU. Its format is
NTU's: camera-space metres of the 25 Kinect v2 joints (:mod:`.ntu_layout`), pyskl annotation dicts
(``frame_dir`` in NTU's ``SsssCcccPpppRrrrAaaa`` naming, ``label``, ``total_frames``, ``keypoint`` (M, T, 25, 3)),
NTU's cross-subject and cross-view splits (``xsub_train`` / ``xsub_val`` / ``xview_train`` / ``xview_val``);
:meth:`SyntheticSkeletonActions.dump` writes the pyskl ``.pkl`` file that :class:`PoseDataset` reads.

The figure. Every bone hangs from its parent (``NTU_PARENTS``) with a rest direction and a length; the lengths are
a subject's (height factor U(0.85, 1.15) times a per-bone factor N(1, 0.04), both fixed per subject id). The arms
are posed per frame by two angles per segment (elevation from hanging, azimuth from sideways towards the front);
hands, tips and thumbs follow the forearm. The body sways slightly (a random slow lean). Each sample is then
seen by one of three cameras at yaw -45, 0, +45 degrees (NTU's C003 / C001 / C002), jittered by +-5 degrees, at
2.5-3.5 m depth, and Gaussian joint noise (``noise_std`` metres) is added per frame.

The actions (``ACTIONS``), each with random onset, speed, amplitude and phase:

0. ``raise left hand``, 1. ``raise right hand``, 2. ``raise both hands``: an arm (or both) rises from hanging to
   overhead and stays; 2 is 0 AND 1.
3. ``wave both hands together`` and 4. ``wave both hands alternately``: arms held out, forearms up, swinging in
   the body plane with a random phase; in 3 the two hands move mirror-symmetrically in phase, in 4 in
   anti-phase. Every single joint follows the same distribution of trajectories in both classes (the phase is
   uniform), so only the co-occurrence of the two hands' motions separates them.
5. ``clap``: forearms in front, both hands swing together and apart in phase.
"""
import pickle
from typing import List, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from tessera_video.datasets.ntu_layout import NTU_PARENTS, NUM_JOINTS
from tessera_video.registry import DATASETS

ACTIONS = ('raise left hand', 'raise right hand', 'raise both hands', 'wave both hands together',
           'wave both hands alternately', 'clap')
# camera id (NTU's numbering) -> yaw of the subject seen by it, degrees
CAMERAS = {1: 0.0, 2: 45.0, 3: -45.0}
SPLITS = ('xsub_train', 'xsub_val', 'xview_train', 'xview_val')
XVIEW_TRAIN_CAMERAS = (2, 3)  # NTU's cross-view protocol: train on cameras 2 and 3, test on camera 1

# Rest skeleton in the body frame (x: the subject's left, y: up, z: the subject's back; the subject faces the
# yaw-0 camera). Per joint: (direction from the parent, length in metres for a 1.75 m subject).
REST_BONES = {
    1: ((0, 1, 0), 0.25), 20: ((0, 1, 0), 0.25), 2: ((0, 1, 0), 0.07), 3: ((0, 1, 0), 0.15),
    4: ((1, -0.15, 0), 0.17), 5: ((0, -1, 0), 0.28), 6: ((0, -1, 0), 0.25), 7: ((0, -1, 0), 0.07),
    21: ((0, -1, 0), 0.07), 22: ((0, -1, -1), 0.05),
    8: ((-1, -0.15, 0), 0.17), 9: ((0, -1, 0), 0.28), 10: ((0, -1, 0), 0.25), 11: ((0, -1, 0), 0.07),
    23: ((0, -1, 0), 0.07), 24: ((0, -1, -1), 0.05),
    12: ((1, -0.5, 0), 0.10), 13: ((0, -1, 0), 0.42), 14: ((0, -1, 0), 0.40), 15: ((0, -0.3, -1), 0.10),
    16: ((-1, -0.5, 0), 0.10), 17: ((0, -1, 0), 0.42), 18: ((0, -1, 0), 0.40), 19: ((0, -0.3, -1), 0.10),
}
# (upper arm, forearm, hand, tip, thumb) joints and the lateral sign (+1: the subject's left) of each arm
ARMS = {'left': ((5, 6, 7, 21, 22), 1.0), 'right': ((9, 10, 11, 23, 24), -1.0)}
FK_ORDER = (0, 1, 20, 2, 3, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19)  # parents first
HANG = (0.12, 0.2)  # elevation of upper arm and forearm hanging at rest, radians


def limb_direction(elevation: np.ndarray, azimuth: np.ndarray, side: float) -> np.ndarray:
    """Unit vectors (T, 3): elevation 0 hangs down, pi/2 horizontal, pi up; azimuth 0 sideways, pi/2 forward."""
    s = np.sin(elevation)
    return np.stack([side * s * np.cos(azimuth), -np.cos(elevation), -s * np.sin(azimuth)], axis=-1)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def arm_angles(action: int, t: np.ndarray, rng: np.random.RandomState) -> dict:
    """Per arm (upper elevation, upper azimuth, fore elevation, fore azimuth), each (T,), for ``action``."""
    hang = {side: tuple(np.full_like(t, v) for v in (HANG[0], 0.1, HANG[1], 0.3)) for side in ARMS}
    if action in (0, 1, 2):
        onset, duration = rng.uniform(0.05, 0.4), rng.uniform(0.25, 0.45)
        top = rng.uniform(0.85, 0.97) * np.pi
        lift = smoothstep((t - onset) / duration)
        azimuth = rng.uniform(0.6, 1.2)
        raised = (HANG[0] + (top - HANG[0]) * lift, np.full_like(t, azimuth), HANG[1] + (top - HANG[1]) * lift,
                  np.full_like(t, azimuth))
        sides = {0: ('left',), 1: ('right',), 2: ('left', 'right')}[action]
        return {side: raised if side in sides else hang[side] for side in ARMS}
    cycles, phase = rng.uniform(1.5, 3.0), rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.3, 0.5)
    if action in (3, 4):
        out = {}
        for side, offset in (('left', 0.0), ('right', 0.0 if action == 3 else np.pi)):
            swing = amp * np.sin(2 * np.pi * cycles * t + phase + offset)
            out[side] = (np.full_like(t, 0.5 * np.pi), np.full_like(t, 0.15), 0.82 * np.pi + swing,
                         np.full_like(t, 0.15))
        return out
    # clap: upper arms forward-down, forearms horizontal; the hands swing apart (forearm azimuth 0.9, outwards)
    # and together (2.25, inwards: the hands meet in front of the chest)
    swing = 0.5 * (1 + np.sin(2 * np.pi * cycles * t + phase))
    fore_azimuth = 0.9 + (2.25 - 0.9) * swing
    return {side: (np.full_like(t, 0.7), np.full_like(t, 1.2), np.full_like(t, 1.5), fore_azimuth) for side in ARMS}


def rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def subject_lengths(subject: int, seed: int) -> np.ndarray:
    """(25,) bone lengths of one subject (0 for the root), deterministic from ``(seed, subject)``."""
    rng = np.random.RandomState([seed, subject, 7])
    height = rng.uniform(0.85, 1.15)
    lengths = np.zeros(NUM_JOINTS)
    for j, (_, length) in REST_BONES.items():
        lengths[j] = length * height * rng.normal(1.0, 0.04)
    return lengths


def render_skeleton(action: int, lengths: np.ndarray, yaw_deg: float, num_frames: int, noise_std: float,
                    rng: np.random.RandomState) -> np.ndarray:
    """One sample: (T, 25, 3) camera-space joints in metres."""
    t = np.linspace(0.0, 1.0, num_frames)
    dirs = np.zeros((num_frames, NUM_JOINTS, 3))
    for j, (d, _) in REST_BONES.items():
        dirs[:, j] = np.asarray(d, dtype=np.float64) / np.linalg.norm(d)
    angles = arm_angles(action, t, rng)
    for side, ((upper, fore, hand, tip, thumb), sign) in ARMS.items():
        ue, ua, fe, fa = angles[side]
        dirs[:, upper] = limb_direction(ue, ua, sign)
        f = limb_direction(fe, fa, sign)
        dirs[:, fore] = dirs[:, hand] = dirs[:, tip] = f
        thumb_dir = f + 0.6 * limb_direction(fe, fa + np.pi / 2, sign)
        dirs[:, thumb] = thumb_dir / np.linalg.norm(thumb_dir, axis=-1, keepdims=True)
    joints = np.zeros((num_frames, NUM_JOINTS, 3))  # the root (spine base) at the origin of the body frame
    for j in FK_ORDER[1:]:
        joints[:, j] = joints[:, NTU_PARENTS[j]] + lengths[j] * dirs[:, j]
    # slow sway: lean the whole body around the root by a few degrees, about z (sideways) and x (forwards)
    lean = rng.uniform(-0.06, 0.06, size=2)[:, None] * np.sin(np.pi * t * rng.uniform(0.5, 1.5))[None]
    cz, sz, cx, sx = np.cos(lean[0]), np.sin(lean[0]), np.cos(lean[1]), np.sin(lean[1])
    x, y, z = joints[..., 0], joints[..., 1], joints[..., 2]
    x, y = cz[:, None] * x - sz[:, None] * y, sz[:, None] * x + cz[:, None] * y
    y, z = cx[:, None] * y - sx[:, None] * z, sx[:, None] * y + cx[:, None] * z
    joints = np.stack([x, y, z], axis=-1)
    rot = rotation_y(np.deg2rad(yaw_deg + rng.uniform(-5, 5)))
    offset = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.1), rng.uniform(2.5, 3.5)])
    joints = joints @ rot.T + offset
    return joints + rng.normal(0.0, noise_std, size=joints.shape)


@DATASETS.register_module()
class SyntheticSkeletonActions(BaseDataset):
    """The synthetic NTU-layout skeleton action set (see the module docstring; not real data).

    Args:
        split (str): ``'xsub_train'`` / ``'xsub_val'`` (subjects ``< num_train_subjects`` / the rest, every
            camera) or ``'xview_train'`` / ``'xview_val'`` (cameras 2, 3 / camera 1, every subject).
        num_frames (int): T per sample.
        num_subjects (int): Performers (each with its own bone lengths).
        num_train_subjects (int): Subjects of ``xsub_train``.
        repetitions (int): Samples per (subject, camera, action).
        noise_std (float): Joint noise in metres.
        num_persons (int): M; bodies beyond the first are zeros (NTU's two-body padding).
        seed (int): Seed of subjects and samples.

    Items: ``frame_dir``, ``label``, ``total_frames``, ``keypoint`` (M, T, 25, 3) float32, ``subject``,
    ``camera``, ``sample_idx``.
    """

    def __init__(self, split: str = 'xsub_train', num_frames: int = 32, num_subjects: int = 10,
                 num_train_subjects: int = 6, repetitions: int = 2, noise_std: float = 0.01, num_persons: int = 1,
                 seed: int = 0, **kwargs):
        if split not in SPLITS:
            raise ValueError(f'invalid split {split!r}; valid: {SPLITS}')
        if not 0 < num_train_subjects < num_subjects:
            raise ValueError(f'need 0 < num_train_subjects < num_subjects, got {num_train_subjects}, {num_subjects}')
        if num_frames < 2 or repetitions < 1 or num_persons < 1 or noise_std < 0:
            raise ValueError(f'need num_frames >= 2, repetitions >= 1, num_persons >= 1, noise_std >= 0; got '
                             f'{num_frames}, {repetitions}, {num_persons}, {noise_std}')
        self.split, self.num_frames, self.num_subjects = split, num_frames, num_subjects
        self.num_train_subjects, self.repetitions, self.noise_std = num_train_subjects, repetitions, noise_std
        self.num_persons, self.seed = num_persons, seed
        kwargs.setdefault('serialize_data', False)
        super().__init__(metainfo=kwargs.pop('metainfo', dict(classes=ACTIONS)), **kwargs)

    @staticmethod
    def in_split(split: str, subject: int, camera: int, num_train_subjects: int) -> bool:
        if split.startswith('xsub'):
            return (subject < num_train_subjects) == (split == 'xsub_train')
        return (camera in XVIEW_TRAIN_CAMERAS) == (split == 'xview_train')

    def generate(self, split: str) -> List[dict]:
        """Annotations of ``split`` (pyskl dicts), deterministic from the seed and independent of other splits."""
        anns = []
        for subject in range(self.num_subjects):
            lengths = subject_lengths(subject, self.seed)
            for camera, yaw in CAMERAS.items():
                if not self.in_split(split, subject, camera, self.num_train_subjects):
                    continue
                for rep in range(self.repetitions):
                    for action in range(len(ACTIONS)):
                        rng = np.random.RandomState([self.seed, subject, camera, rep, action])
                        joints = render_skeleton(action, lengths, yaw, self.num_frames, self.noise_std, rng)
                        keypoint = np.zeros((self.num_persons, self.num_frames, NUM_JOINTS, 3), dtype=np.float32)
                        keypoint[0] = joints
                        name = f'S001C{camera:03d}P{subject + 1:03d}R{rep + 1:03d}A{action + 1:03d}'
                        anns.append(dict(frame_dir=name,
                                         label=action, total_frames=self.num_frames, keypoint=keypoint,
                                         subject=subject, camera=camera))
        return anns

    def load_data_list(self) -> List[dict]:
        anns = self.generate(self.split)
        for i, a in enumerate(anns):
            a['sample_idx'] = i
        return anns

    def dump(self, path: str, splits: Sequence[str] = SPLITS) -> None:
        """Write every sample once, with the ``split`` lists of ``splits``, as a pyskl ``.pkl`` file."""
        everything = self.generate('xsub_train') + self.generate('xsub_val')
        split_lists = {}
        for s in splits:
            split_lists[s] = [a['frame_dir'] for a in everything
                              if self.in_split(s, a['subject'], a['camera'], self.num_train_subjects)]
        annotations = [{k: a[k] for k in ('frame_dir', 'label', 'total_frames', 'keypoint')} for a in everything]
        with open(path, 'wb') as f:
            pickle.dump(dict(split=split_lists, annotations=annotations), f, protocol=4)
