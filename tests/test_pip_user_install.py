"""A user with nothing but pip: each non-detection package from its wheel, on mmcv-lite, through mim.

One fresh virtual environment (its own site-packages, nothing linked from ``.venv``) takes, in turn:

1. torch 2.14.1 / torchvision 0.29.1 (pinned), openmim and setuptools < 81 (mim imports ``pkg_resources``),
   from the index, as the README says;
2. tessera-core alone, without mmcv: importing it fails with the one message naming the installed mmcv
   (none) and the two install commands, while ``tessera-build-mmcv --help`` still runs;
3. each of the six non-detection task packages as ``tessera-<task>[lite]`` from its freshly built wheel,
   with its declared dependencies from the index (mmcv-lite through the ``lite`` extra, no compiler),
   then ``mim train`` + ``mim test`` of its smoke config on a slice of its embedded data;
4. tessera-detection's wheel: importing it on mmcv-lite names the missing ops and ``tessera-build-mmcv``;
   that console script, given the full mmcv wheel ``make setup`` cached, replaces mmcv-lite by it, and
   tessera-detection imports.

Packages installed earlier stay, so a later package's run proves its own declared dependencies only on
top of the earlier ones (the order puts the packages with the fewest dependencies first). The install
times are printed (``pytest -s``). Detection's full mmcv is the path of ``make setup`` (the cached build of
``tessera-build-mmcv``), tested by the detection environment.

Runs in the ``integration`` tox environment (``TESSERA_USER_INSTALL_TEST=1``): about 10 minutes on 2 cores,
most of it the torch install and the six short trainings; needs the package index.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time
import venv
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(os.environ.get('TESSERA_USER_INSTALL_TEST') != '1',
                                reason='a 10-minute fresh-venv install from the index: set '
                                       'TESSERA_USER_INSTALL_TEST=1 (the integration tox env does)')

ENV = dict(OMP_NUM_THREADS='1', MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
IDX = ['train_dataloader.dataset.indices', 'val_dataloader.dataset.indices', 'test_dataloader.dataset.indices']
# (task, smoke config, --cfg-options shrinking it to seconds, metric keys `mim test --out` must write)
PACKAGES = [
    ('generative', 'conv-vae_z16_embedded-digits.py',
     ['train_cfg.max_epochs=1', f'{IDX[0]}=200', f'{IDX[1]}=100', f'{IDX[2]}=100', 'model.num_importance_samples=4'],
     {'vae/nelbo', 'vae/rec_bce', 'vae/kl'}),
    ('multimodal', 'clip_resnet18-w16_embedded-digits.py',
     ['train_cfg.max_epochs=1', f'{IDX[0]}=128', 'train_dataloader.batch_size=64', f'{IDX[1]}=100',
      f'{IDX[2]}=100'],
     {'clip/zeroshot_top1', 'clip/i2t_recall@1', 'clip/t2i_recall@1'}),
    ('reid', 'bnneck/bnneck_resnet18-w16_embedded-digits.py',
     ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.max_per_id=32',
      'val_dataloader.dataset.max_per_id=30', 'test_dataloader.dataset.max_per_id=30'],
     {'reid/rank1', 'reid/rank5', 'reid/mAP'}),
    ('video', 'tsm/tsm_resnet18-w16_moving-digits.py',
     ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', f'{IDX[0]}=64', f'{IDX[1]}=50', f'{IDX[2]}=50'],
     {'accuracy/top1'}),
    ('compression', 'lsq-w4a4_resnet18-w16_embedded-digits.py',
     ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', f'{IDX[0]}=256', f'{IDX[1]}=200', f'{IDX[2]}=200'],
     {'accuracy/top1', 'accuracy/top5'}),
    ('nas', 'darts-v2_c16-l8_embedded-digits.py',
     ['model.backbone.init_channels=4', 'model.backbone.layers=5', 'train_cfg.max_epochs=1',
      'train_cfg.val_interval=1', 'train_dataloader.batch_size=32', f'{IDX[0]}=64', f'{IDX[1]}=100',
      f'{IDX[2]}=100'],
     {'accuracy/top1', 'accuracy/top5'}),
]


def _env(venv_dir):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV')}
    env.update(ENV, VIRTUAL_ENV=str(venv_dir), PATH=f'{venv_dir / "bin"}{os.pathsep}{env.get("PATH", "")}')
    return env


def _run(cmd, env, cwd, timeout=1200, ok=True):
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=str(cwd), timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if ok and proc.returncode != 0:
        raise AssertionError(f'{" ".join(map(str, cmd))} exited with {proc.returncode}:\n{proc.stdout[-6000:]}')
    return proc


def _requires(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode()
    return [line.split(':', 1)[1].strip() for line in meta.splitlines() if line.startswith('Requires-Dist:')]


def test_each_package_installs_with_pip_on_mmcv_lite_and_trains_through_mim(tmp_path):
    venv_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(venv_dir)
    env = _env(venv_dir)
    py, pip = venv_dir / 'bin' / 'python', [venv_dir / 'bin' / 'python', '-m', 'pip', '--disable-pip-version-check']
    site = _run([py, '-c', 'import site; print(site.getsitepackages()[0])'], env, tmp_path).stdout.strip()
    assert not os.path.realpath(site).startswith(os.path.join(ROOT, '.venv'))

    # the wheels (built here with this environment's setuptools, as scripts/install_wheels.sh does: a user's
    # `pip install ./shared` builds the same wheel in an isolated environment)
    t0 = time.time()
    tasks = [t for t, *_ in PACKAGES]
    _run([sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps', '--no-build-isolation', '-w',
          tmp_path / 'dist', os.path.join(ROOT, 'shared'),
          *[os.path.join(ROOT, 'packages', t) for t in [*tasks, 'detection']]], os.environ, tmp_path)
    wheels = {name.split('-')[0].replace('_', '-'): str(tmp_path / 'dist' / name)
              for name in os.listdir(tmp_path / 'dist')}
    build_s = time.time() - t0
    for dist, wheel in wheels.items():  # no distribution makes pip build mmcv's sdist
        reqs = _requires(wheel)
        assert not [r for r in reqs if re.match(r'[\w.-]+', r).group(0).lower() in ('mmcv', 'mmcv-full')], reqs
    assert 'mmcv-lite==2.1.0; extra == "lite"' in _requires(wheels['tessera-core'])

    times = {}
    t0 = time.time()
    # as the README: torch 2.14.1 wants setuptools >= 77.0.3, mim needs pkg_resources (gone in setuptools 81)
    _run([*pip, 'install', '--quiet', 'torch==2.14.1', 'torchvision==0.29.1', 'openmim', 'setuptools<81'], env,
         tmp_path)
    times['torch + torchvision + openmim'] = time.time() - t0

    # tessera-core without any mmcv: one message, both install commands; the build tool still starts
    t0 = time.time()
    _run([*pip, 'install', '--quiet', wheels['tessera-core']], env, tmp_path)
    times['tessera-core (no mmcv)'] = time.time() - t0
    # ours, not the unrelated `tessera-core` 0.1.0 on PyPI: the wheel is named on every command line
    summary = _run([py, '-c', 'import importlib.metadata as md; print(md.metadata("tessera-core")["Summary"])'],
                   env, tmp_path).stdout
    assert summary.startswith('Tessera shared core'), summary
    bare = _run([py, '-c', 'import tessera_core'], env, tmp_path, ok=False)
    assert bare.returncode != 0
    assert 'installed: none' in bare.stdout, bare.stdout
    assert 'pip install "tessera-core[lite]"' in bare.stdout and 'tessera-build-mmcv' in bare.stdout, bare.stdout
    assert 'tessera-build-mmcv' in _run([venv_dir / 'bin' / 'tessera-build-mmcv', '--help'], env, tmp_path).stdout

    for task, config, small, keys in PACKAGES:
        dist = f'tessera-{task}'
        t0 = time.time()
        _run([*pip, 'install', '--quiet', wheels['tessera-core'], f'{wheels[dist]}[lite]'], env, tmp_path)
        times[f'{dist}[lite]'] = time.time() - t0
        state = _run([py, '-c', 'import importlib.metadata as md, importlib.util as u, mmcv, sys\n'
                                'names = [d.metadata["Name"] for d in md.distributions()]\n'
                                'print(mmcv.__version__, "mmcv" in names, u.find_spec("mmcv._ext") is None)'],
                     env, tmp_path).stdout.split()
        assert state == ['2.1.0', 'False', 'True'], state  # mmcv-lite only: no full mmcv, no compiled ops

        work = tmp_path / task
        t0 = time.time()
        train = _run(['mim', 'train', dist, config, '--work-dir', work, '--cfg-options', *small], env, tmp_path)
        ckpt = work / 'epoch_1.pth'
        assert ckpt.is_file(), train.stdout[-3000:]
        out = work / 'metrics.json'
        _run(['mim', 'test', dist, config, '--checkpoint', ckpt, '--work-dir', work / 'test', '--out', out,
              '--cfg-options', *small], env, tmp_path)
        metrics = json.loads(out.read_text())
        assert keys <= set(metrics), (dist, metrics)
        print(f'[user-install] {dist}: mim train + mim test {time.time() - t0:.0f} s, {metrics}')

    # detection needs the full mmcv: on mmcv-lite its import names the missing ops and the build command
    t0 = time.time()
    _run([*pip, 'install', '--quiet', wheels['tessera-core'], wheels['tessera-detection']], env, tmp_path)
    times['tessera-detection (mmdet)'] = time.time() - t0
    det = _run([py, '-c', 'import tessera_detection'], env, tmp_path, ok=False)
    assert det.returncode != 0
    assert 'nms' in det.stdout and 'RoIAlign' in det.stdout and 'mmcv-lite 2.1.0' in det.stdout, det.stdout
    assert det.stdout.rstrip().endswith('tessera-build-mmcv'), det.stdout

    # ... which, with the wheel `make setup` cached, swaps mmcv-lite for the full mmcv in seconds
    import torch
    from tessera_core.tools.build_mmcv import cache_root, wheel_dir
    py_tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    key = wheel_dir(cache_root(), '2.1.0', torch.__version__.split('+')[0], py_tag)
    if glob.glob(os.path.join(key, 'mmcv-2.1.0-*.whl')):
        t0 = time.time()
        swap = _run([venv_dir / 'bin' / 'tessera-build-mmcv'], env, tmp_path).stdout
        times['tessera-build-mmcv (cached wheel)'] = time.time() - t0
        assert 'cached wheel' in swap and 'uninstalling mmcv-lite' in swap, swap
        assert 'with compiled ops installed' in swap, swap
        full = _run([py, '-c', 'import importlib.metadata as md, tessera_detection, mmcv.ops\n'
                               'print(sorted(d.metadata["Name"] for d in md.distributions()\n'
                               '             if d.metadata["Name"].startswith("mmcv")))'], env, tmp_path).stdout
        assert full.split() == ["['mmcv']"], full
    else:  # a 13-minute build: not done here
        print(f'[user-install] no cached full mmcv wheel in {key}: the swap to the full mmcv is not tested')

    print(f'\n[user-install] wheels built in {build_s:.0f} s; install times from the index:')
    for what, seconds in times.items():
        print(f'[user-install]   {what}: {seconds:.0f} s')
    print(f'[user-install] total install {sum(times.values()):.0f} s')
