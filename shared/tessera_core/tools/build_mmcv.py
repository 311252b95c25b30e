"""Build (once), cache and install mmcv 2.1.0 with its compiled CPU ops: ``tessera-build-mmcv``.

mmcv 2.1.0, the last release mmdet 3.3 accepts, exists on the package index only as an sdist whose
``setup.py`` forces ``-std=c++14``/``-std=c++17``, while the ATen headers of torch >= 2.10 require C++20
(``#error C++20 or later compatible compiler is required``). This tool downloads the sdist, switches
those flags to ``-std=c++20``, builds a wheel against the torch already installed (no build isolation,
``MMCV_WITH_OPS=1``, CPU only), caches it outside any checkout, keyed by mmcv / torch / Python version::

    ~/.cache/tessera/wheels/mmcv-2.1.0-torch2.14.1-cp311/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl

(``$TESSERA_CACHE`` or ``$XDG_CACHE_HOME/tessera`` replace ``~/.cache/tessera``), and installs it into
the running interpreter's environment. The build takes about 13 minutes on 2 cores and prints its
progress every 30 s; later runs with the same key install the cached wheel in seconds. An installed
mmcv-lite (same import name, no compiled ops) is uninstalled first, so that no two distributions own
mmcv's files.

Only tessera-detection needs this (mmdet's nms, RoIAlign, ...); every other package runs on
``pip install "tessera-core[lite]"`` (mmcv-lite, pure Python). Needs torch installed and a C++
compiler; installs mmcv's build requirements (setuptools < 81 with ``pkg_resources``, wheel, ninja)
when they are missing.

This file uses the standard library only and imports nothing from tessera_core, so that
``python tessera_core/tools/build_mmcv.py`` also works from a source tree before anything is installed
(``scripts/build_mmcv.sh`` runs it that way). Usage::

    tessera-build-mmcv [--no-install] [--force] [--jobs N] [--cache-dir DIR]
"""
import argparse
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import List, Optional

MMCV_VERSION = '2.1.0'
LOG = '[mmcv]'
# setuptools 81 dropped pkg_resources, which mmcv's setup.py (and mim) import.
BUILD_REQUIREMENTS = ('setuptools>=77,<81', 'wheel', 'ninja')  # torch 2.14 itself wants setuptools >= 77.0.3


def say(msg: str) -> None:
    print(f'{LOG} {msg}', flush=True)


def cache_root() -> str:
    """``$TESSERA_CACHE``, else ``$XDG_CACHE_HOME/tessera``, else ``~/.cache/tessera``."""
    if os.environ.get('TESSERA_CACHE'):
        return os.environ['TESSERA_CACHE']
    return osp.join(os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'tessera')


def wheel_dir(cache: str, mmcv_version: str, torch_version: str, py_tag: str) -> str:
    """The cache folder of one build: ``<cache>/wheels/mmcv-<mmcv>-torch<torch>-<cpXY>``."""
    return osp.join(cache, 'wheels', f'mmcv-{mmcv_version}-torch{torch_version}-{py_tag}')


def patch_setup_py(text: str) -> str:
    """mmcv's ``setup.py`` with every ``-std=c++14``/``-std=c++17`` flag switched to ``-std=c++20``."""
    patched = text.replace('-std=c++14', '-std=c++20').replace('-std=c++17', '-std=c++20')
    if '-std=c++20' not in patched:
        raise RuntimeError('no -std=c++14/17 flag found in mmcv setup.py: cannot apply the C++20 fix')
    return patched


def _python_output(python: str, code: str) -> Optional[str]:
    proc = subprocess.run([python, '-c', code], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def torch_version(python: str) -> Optional[str]:
    """The installed torch's version without its local tag (``2.14.1+cu130`` -> ``2.14.1``)."""
    out = _python_output(python, 'import torch; print(torch.__version__)')
    return out.split('+')[0] if out else None


def has_ops(python: str, mmcv_version: str) -> bool:
    """Whether ``python`` imports mmcv ``mmcv_version`` with its compiled ops."""
    code = f'import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != {mmcv_version!r})'
    return subprocess.run([python, '-c', code], capture_output=True).returncode == 0


def installed_dists(python: str, names) -> List[str]:
    code = ('import importlib.metadata as md, sys\n'
            'for n in sys.argv[1:]:\n'
            '    try: md.distribution(n); print(n)\n'
            '    except md.PackageNotFoundError: pass\n')
    proc = subprocess.run([python, '-c', code, *names], capture_output=True, text=True)
    return proc.stdout.split()


def pip(python: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([python, '-m', 'pip', '--disable-pip-version-check', *args], **kwargs)


def ensure_build_requirements(python: str) -> None:
    code = ('import importlib.util as u, sys; import setuptools, pkg_resources, wheel; '
            'sys.exit(u.find_spec("ninja") is None)')
    if subprocess.run([python, '-W', 'ignore', '-c', code], capture_output=True).returncode != 0:
        say(f'installing the build requirements: {" ".join(BUILD_REQUIREMENTS)}')
        if pip(python, 'install', '--quiet', *BUILD_REQUIREMENTS).returncode != 0:
            raise RuntimeError(f'could not install {" ".join(BUILD_REQUIREMENTS)}')
    compiler = os.environ.get('CXX') or shutil.which('c++') or shutil.which('g++')
    if not compiler:
        raise RuntimeError('no C++ compiler found (c++/g++ or $CXX): install one, e.g. `apt-get install g++`')


def build_wheel(python: str, mmcv_version: str, out_dir: str, jobs: int, interval: float) -> str:
    """Download, patch and build the mmcv sdist; returns the wheel's path in ``out_dir``."""
    ensure_build_requirements(python)
    work = tempfile.mkdtemp(prefix='tessera-mmcv-')
    log_path = osp.join(out_dir, 'build.log')
    try:
        say(f'downloading the mmcv {mmcv_version} sdist')
        dl = pip(python, 'download', '--quiet', '--no-deps', '--no-build-isolation', '--no-binary', 'mmcv',
                 f'mmcv=={mmcv_version}', '-d', work, capture_output=True, text=True)
        sdists = glob.glob(osp.join(work, f'mmcv-{mmcv_version}.tar.gz'))
        if dl.returncode != 0 or not sdists:
            raise RuntimeError(f'pip could not download the mmcv {mmcv_version} sdist:\n{dl.stderr[-2000:]}')
        with tarfile.open(sdists[0]) as tar:
            if hasattr(tarfile, 'data_filter'):
                tar.extractall(work, filter='data')
            else:  # Python < 3.12 without the backported filter
                tar.extractall(work)
        src = osp.join(work, f'mmcv-{mmcv_version}')
        setup_py = osp.join(src, 'setup.py')
        with open(setup_py) as f:
            text = f.read()
        with open(setup_py, 'w') as f:
            f.write(patch_setup_py(text))
        say('setup.py patched: -std=c++20 (torch >= 2.10 headers need C++20)')
        total = len(glob.glob(osp.join(src, 'mmcv', 'ops', 'csrc', 'pytorch', '*.cpp'))
                    + glob.glob(osp.join(src, 'mmcv', 'ops', 'csrc', 'pytorch', '*', '*.cpp')))
        env = dict(os.environ, MMCV_WITH_OPS='1', FORCE_CUDA='0', MAX_JOBS=str(jobs))
        say(f'compiling the CPU ops with {jobs} jobs (about 13 min on 2 cores), progress every {interval:.0f} s; '
            f'log: {log_path}')
        start = time.time()
        with open(log_path, 'w') as log:
            proc = subprocess.Popen([python, '-m', 'pip', 'wheel', '--no-build-isolation', '--no-deps', '-w',
                                     osp.join(work, 'dist'), '.'], cwd=src, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
            while True:
                try:
                    proc.wait(timeout=interval)
                    break
                except subprocess.TimeoutExpired:
                    done = len(glob.glob(osp.join(src, 'build', '**', '*.o'), recursive=True))
                    say(f'building... {time.time() - start:.0f} s elapsed, {done} of ~{total} objects compiled')
        if proc.returncode != 0:
            with open(log_path) as f:
                tail = ''.join(f.readlines()[-40:])
            raise RuntimeError(f'the mmcv build failed; last lines of {log_path}:\n{tail}')
        built = glob.glob(osp.join(work, 'dist', f'mmcv-{mmcv_version}-*.whl'))
        if not built:
            raise RuntimeError(f'the build produced no wheel (see {log_path})')
        target = osp.join(out_dir, osp.basename(built[0]))
        shutil.copy(built[0], target + '.part')
        os.replace(target + '.part', target)  # a wheel in the cache is always complete
        say(f'built in {time.time() - start:.0f} s, cached as {target}')
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install_wheel(python: str, wheel: str, mmcv_version: str) -> None:
    others = installed_dists(python, ['mmcv-lite', 'mmcv-full'])
    if others:
        # same import name: two distributions must not own mmcv's files
        say(f'uninstalling {", ".join(others)} (same import name `mmcv`, replaced by the full mmcv)')
        if pip(python, 'uninstall', '--quiet', '-y', *others).returncode != 0:
            raise RuntimeError(f'could not uninstall {", ".join(others)}')
    say(f'installing {wheel}')
    if pip(python, 'install', '--quiet', wheel).returncode != 0:  # with its deps (mmengine, opencv, ...)
        raise RuntimeError(f'pip could not install {wheel}')
    if not has_ops(python, mmcv_version):
        raise RuntimeError(f'mmcv {mmcv_version} was installed but `import mmcv.ops` fails')
    say(f'{mmcv_version} with compiled ops installed')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='tessera-build-mmcv',
        description=f'Build (once), cache and install mmcv {MMCV_VERSION} with compiled CPU ops and the C++20 '
                    'fix for current torch: what tessera-detection needs. Other packages need only mmcv-lite.')
    parser.add_argument('--mmcv-version', default=os.environ.get('MMCV_VERSION', MMCV_VERSION))
    parser.add_argument('--cache-dir', default=None, help='default: $TESSERA_CACHE, $XDG_CACHE_HOME/tessera '
                                                          'or ~/.cache/tessera')
    parser.add_argument('--jobs', type=int, default=int(os.environ.get('MAX_JOBS', 0)) or os.cpu_count() or 1,
                        help='parallel compile jobs (default: $MAX_JOBS or the number of CPUs)')
    parser.add_argument('--no-install', action='store_true', help='only build and cache the wheel')
    parser.add_argument('--force', action='store_true', help='rebuild even if a cached wheel exists')
    parser.add_argument('--progress-interval', type=float, default=30.0, help='seconds between progress lines')
    args = parser.parse_args(argv)
    python = sys.executable
    try:
        if not args.force and not args.no_install and has_ops(python, args.mmcv_version):
            say(f'{args.mmcv_version} with ops already installed')
            return 0
        torch = torch_version(python)
        if torch is None:
            raise RuntimeError('torch is not importable here: install it first, '
                               'e.g. pip install torch==2.14.1 torchvision==0.29.1')
        py_tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
        out_dir = wheel_dir(args.cache_dir or cache_root(), args.mmcv_version, torch, py_tag)
        os.makedirs(out_dir, exist_ok=True)
        cached = sorted(glob.glob(osp.join(out_dir, f'mmcv-{args.mmcv_version}-*.whl')))
        if cached and not args.force:
            wheel = cached[0]
            say(f'cached wheel for mmcv {args.mmcv_version} / torch {torch} / {py_tag}: {wheel}')
        else:
            say(f'no cached wheel in {out_dir}: building mmcv {args.mmcv_version} from source')
            wheel = build_wheel(python, args.mmcv_version, out_dir, args.jobs, args.progress_interval)
        if not args.no_install:
            install_wheel(python, wheel, args.mmcv_version)
        return 0
    except RuntimeError as e:
        print(f'{LOG} error: {e}', file=sys.stderr, flush=True)
        return 1


if __name__ == '__main__':
    sys.exit(main())
