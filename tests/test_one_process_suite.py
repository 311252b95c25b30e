"""Every suite can run in one pytest process (``make test-fast``): each package's conftest gives its
default scope to its own tests only.

The reproducer of the bug ``pytest.ini`` fixed: with core's tests first, pytest took ``shared/`` as its
rootdir, the other packages' conftests lay outside it and their autouse scope fixtures applied to every
test, so the last collected package's scope (video's) won and generative's models were looked up in
``tessera_video::model``. Started from another directory, as tox does.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_three_packages_in_one_process_each_build_in_their_own_scope(tmp_path):
    paths = [os.path.join(ROOT, p) for p in ('shared/tests/test_core_models.py',
                                             'packages/generative/tests/test_vae_model.py', 'packages/video/tests')]
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-m', 'not slow', *paths,
                           '-k', 'test_core_models or test_vae_model or test_temporal_shift'],
                          cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert f'rootdir: {ROOT}' in proc.stdout, proc.stdout[:2000]
    assert ' passed' in proc.stdout and 'deselected' in proc.stdout, proc.stdout[-2000:]
