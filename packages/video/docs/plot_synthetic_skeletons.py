"""Draw the synthetic skeleton actions (tessera_video.datasets.synthetic_skeletons) as stick figures.

    python packages/video/docs/plot_synthetic_skeletons.py   # writes synthetic_skeleton_actions.png here

One column per action: subject 1 seen by camera 1 (frontal), five frames overlaid from dark (start) to light
(end), projected on the camera's x-y plane; a second row shows the same sample from camera 2 (45 degrees).
"""
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_video.datasets.ntu_layout import NTU_BONES  # noqa: E402
from tessera_video.datasets.synthetic_skeletons import (ACTIONS, CAMERAS, render_skeleton,  # noqa: E402
                                                        subject_lengths)


def main(out=osp.join(osp.dirname(osp.abspath(__file__)), 'synthetic_skeleton_actions.png'), num_frames=32):
    lengths = subject_lengths(0, seed=0)
    fig, axes = plt.subplots(2, len(ACTIONS), figsize=(2.3 * len(ACTIONS), 5.6))
    for row, camera in enumerate((1, 2)):
        for a, name in enumerate(ACTIONS):
            rng = np.random.RandomState([0, 0, camera, 0, a])
            joints = render_skeleton(a, lengths, CAMERAS[camera], num_frames, 0.01, rng)
            ax = axes[row, a]
            frames = np.linspace(0, num_frames - 1, 5).astype(int)
            for k, t in enumerate(frames):
                color = plt.cm.viridis(0.15 + 0.8 * k / (len(frames) - 1))
                for j, p in NTU_BONES:
                    ax.plot(joints[t, [j, p], 0], joints[t, [j, p], 1], color=color, lw=1.5)
                ax.scatter(joints[t, [7, 11], 0], joints[t, [7, 11], 1], color=color, s=8, zorder=3)
            ax.set_aspect('equal')
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name.replace('both hands ', 'both\n'), fontsize=9)
            if a == 0:
                ax.set_ylabel(f'camera {camera} ({CAMERAS[camera]:+.0f} deg)', fontsize=9)
    fig.suptitle('SYNTHETIC skeleton actions (NTU 25-joint layout), five frames dark (start) -> light (end)',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(out)


if __name__ == '__main__':
    main()
