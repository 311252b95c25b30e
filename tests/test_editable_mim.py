"""`mim train` also works from an editable (PEP 660) install once scripts/link_editable.py ran."""
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}'
    return proc.stdout + proc.stderr


def test_mim_train_from_an_editable_install(tmp_path):
    env_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / 'bin' / 'python')
    site = _run([py, '-c', 'import site; print(site.getsitepackages()[0])']).strip()
    _run([py, os.path.join(ROOT, 'scripts', 'link_base_env.py'), site])
    _run([py, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation', '-e',
          os.path.join(ROOT, 'shared')])
    _run([py, os.path.join(ROOT, 'scripts', 'link_editable.py')])
    out = _run([py, '-m', 'mim', 'train', 'tessera-core', 'demo/resnet18-w16_embedded-digits.py',
                '--work-dir', str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=1',
                'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=100'],
               cwd=str(tmp_path), env=dict(os.environ, MPLBACKEND='Agg'))
    # mim ran the source tree's tools/train.py through the link
    assert os.path.join(site, 'tessera_core', 'tools', 'train.py') in out
    assert os.path.realpath(os.path.join(site, 'tessera_core')) == os.path.join(ROOT, 'shared', 'tessera_core')
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
