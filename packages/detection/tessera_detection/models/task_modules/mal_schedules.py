"""The two training schedules of MAL: how many anchors of a bag are selected, and how much is depressed.

"Multiple Anchor Learning for Visual Object Detection", Ke, Zhang, Huang, Ye, Liu, Huang, CVPR 2020,
arXiv:1912.02252. Official code: github.com/DeLightCMU/MAL (maskrcnn-benchmark; the KevinKecc/MAL mirror
holds only its configs and inference tools).

Written by hand because mmdet has neither schedule. ``progress`` is ``t / T`` (current iteration over the
iterations of the run) in ``[0, 1]``; :class:`~tessera_detection.engine.MALScheduleHook` sets it on the head.

- **Selection** (paper, Sec. 3.3, "all-to-top-1"): at the start every anchor of a bag is selected, and the
  number of selected anchors shrinks linearly with training to the single most confident one::

      k_t = max(1, ceil(K * (1 - t / T)))            K = |A_i| (bag size)

  ``'none'`` keeps ``k_t = K`` throughout: the official code's positive bag loss is the mean-max over the
  whole bag at every iteration (FreeAnchor's), whose weights concentrate on the top anchor only implicitly.
- **Depression ratio** (official code, ``ratio_function`` of ``modeling/detector/retinanet.py``): the share
  of the feature positions of highest attention that are depressed; the official MAL configs use
  ``IA_TYPE: 5`` = ``'step-up-down'`` below (12 equal steps, 0 -> 0.5 -> 0).
"""
import math

# name -> ratio of each equal slice of training (row i covers progress in [i / n, (i + 1) / n)).
DEPRESSION_RATIO_SCHEDULES = {
    'none': (0.0,),                                                             # no depression (ablation)
    'constant': (0.5,),                                                         # official IA_TYPE 0
    'step-up': (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),                                  # official IA_TYPE 1
    'step-up-down': (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0),  # official IA_TYPE 5
}
SELECTION_SCHEDULES = ('all-to-top-1', 'none')


def _check_progress(progress: float) -> float:
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f'progress (t / T) must be in [0, 1], got {progress}')
    return float(progress)


def depression_ratio(schedule: str, progress: float) -> float:
    """Depressed share of positions at ``progress``; ``schedule`` is a key of ``DEPRESSION_RATIO_SCHEDULES``."""
    if schedule not in DEPRESSION_RATIO_SCHEDULES:
        raise ValueError(f'unknown depression schedule {schedule!r}; choose from {sorted(DEPRESSION_RATIO_SCHEDULES)}')
    table = DEPRESSION_RATIO_SCHEDULES[schedule]
    return table[min(len(table) - 1, int(_check_progress(progress) * len(table)))]


def selected_bag_size(bag_size: int, schedule: str, progress: float) -> int:
    """Number ``k_t`` of anchors selected from a bag of ``bag_size`` anchors at ``progress``."""
    if schedule not in SELECTION_SCHEDULES:
        raise ValueError(f'unknown selection schedule {schedule!r}; choose from {list(SELECTION_SCHEDULES)}')
    if bag_size < 1:
        raise ValueError(f'bag_size must be >= 1, got {bag_size}')
    progress = _check_progress(progress)
    if schedule == 'none':
        return bag_size
    return max(1, math.ceil(bag_size * (1.0 - progress) - 1e-9))
