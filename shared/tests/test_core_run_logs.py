"""tessera_core.analysis.iter_run_scalars: every run of a work dir, newest first, blank lines skipped, and a
clear error naming the directory when it holds no run."""
import json

import pytest

from tessera_core.analysis import iter_run_scalars


def test_runs_newest_first(tmp_path):
    for stamp, loss in (('20260102_000000', 1.0), ('20260101_000000', 2.0), ('20260103_000000', 0.5)):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        (vis / 'scalars.json').write_text(json.dumps(dict(loss=loss, step=1)) + '\n\n' + json.dumps({'acc': 3}) + '\n')
    runs = list(iter_run_scalars(str(tmp_path)))
    assert [path.split('/')[-3] for path, _ in runs] == ['20260103_000000', '20260102_000000', '20260101_000000']
    assert runs[0][1] == [dict(loss=0.5, step=1), {'acc': 3}]


def test_no_run_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        next(iter_run_scalars(str(tmp_path)))
