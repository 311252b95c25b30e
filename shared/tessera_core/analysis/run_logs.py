"""The scalars an mmengine run logged: ``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON record a
line (training iterations carry ``loss`` / ``lr`` / ``iter``, validations their metrics, each with ``step``).

One reader for the benchmark scripts of every package (seed tables, log plots, per-epoch search traces), so
that they agree on which run of a work dir is read and fail with the same message when there is none.
"""
import glob
import json
import os.path as osp
from typing import Iterator, List, Tuple

__all__ = ['iter_run_scalars']


def iter_run_scalars(work_dir: str) -> Iterator[Tuple[str, List[dict]]]:
    """``(path, records)`` of every run in ``work_dir``, newest first (timestamps sort by time).

    Raises:
        FileNotFoundError: ``work_dir`` holds no ``*/vis_data/scalars.json`` (names the directory).
    """
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')), reverse=True)
    if not paths:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir!r}: is it an mmengine work dir?')
    for path in paths:
        with open(path) as f:
            yield path, [json.loads(line) for line in f if line.strip()]
