"""The random number generators' state, as plain tensors a checkpoint can carry.

mmengine 0.10.7 seeds the generators once, when the ``Runner`` is built, and
saves none of their state in a checkpoint. A resumed run therefore restarts
every random stream from the seed: dropout masks, random augmentations in the
main process, ``torch.randperm`` in a model -- anything drawn after the data
order (which ``DefaultSampler`` derives from ``seed + epoch``) differs from the
run that was never interrupted. :class:`.exact_resume.ExactResumeHook` saves
this state and puts it back.

The state is stored as int64 / uint8 tensors and ints (no numpy or Python
objects), so Tessera's checkpoint allowlist needs nothing new for it::

    {'python': LongTensor(625) + (version, gauss), 'numpy': LongTensor(624) + pos/has_gauss/gauss,
     'torch': ByteTensor, 'cuda': [ByteTensor per device] (only when CUDA is initialised)}
"""
from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np
import torch


def capture_rng_state() -> Dict[str, Any]:
    """The state of Python's ``random``, numpy's global generator, torch's CPU and CUDA generators."""
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    if kind != 'MT19937':  # numpy's legacy global generator is always MT19937
        raise RuntimeError(f'numpy global generator of kind {kind!r}; only MT19937 can be saved')
    state = dict(
        python=dict(version=version, internal=torch.tensor(internal, dtype=torch.int64), gauss_next=gauss_next),
        numpy=dict(keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Put back a state from :func:`capture_rng_state` (a missing ``cuda`` entry leaves CUDA alone).

    Raises:
        ValueError: ``state`` lacks one of the generators, naming it.
    """
    missing = [k for k in ('python', 'numpy', 'torch') if k not in state]
    if missing:
        raise ValueError(f'random generator state without {missing} (has {sorted(state)})')
    py = state['python']
    random.setstate((py['version'], tuple(int(v) for v in py['internal'].tolist()), py['gauss_next']))
    npy = state['numpy']
    np.random.set_state(('MT19937', npy['keys'].numpy().astype(np.uint32), npy['pos'], npy['has_gauss'],
                         npy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:  # a checkpoint moved to a machine with another GPU count: CUDA streams restart from the seed
            import warnings
            warnings.warn(f'checkpoint holds the CUDA generator state of {len(cuda_states)} devices, '
                          f'this machine has {torch.cuda.device_count()}: CUDA random streams are not restored')
