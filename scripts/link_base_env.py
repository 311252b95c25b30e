"""Share the heavy third-party packages of ``.venv`` with an isolated environment.

Usage: ``python scripts/link_base_env.py TARGET_SITE_PACKAGES [BASE_SITE_PACKAGES] [--lite-mmcv]``

Creates, in the target site-packages, a symlink to every entry of the base
site-packages except Tessera's own packages (and their editable-install
hooks), so torch, mmcv, mmdet... need not be installed again while each Tessera
package is tested with nothing but tessera-core and itself installed.

With ``--lite-mmcv`` the base's full mmcv and mmdet are not linked; mmcv-lite
2.1.0 (pure Python, no compiled ops: what ``pip install "tessera-core[lite]"``
gives a user) is installed instead, from a wheel cached in
``~/.cache/tessera/wheels/mmcv-lite-2.1.0/`` (downloaded once). Run it with the
target environment's interpreter (tox does), which does that install. A package
tested so fails if it comes to depend on mmcv's compiled ops or on mmdet.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

MMCV_LITE = '2.1.0'
# entries of the base left out with --lite-mmcv: the full mmcv (its ops) and mmdet (needs them)
FULL_MMCV_ENTRIES = ('mmcv', 'mmcv-', 'mmdet', 'mmdet-')

SKIP_PREFIXES = ('tessera_', 'tessera-', '__editable__', '_tessera', '__pycache__')
BASE_WINS = ('setuptools', 'pkg_resources', '_distutils_hack', 'distutils-precedence', 'wheel')


def is_tessera(entry: str) -> bool:
    return entry.lower().startswith(SKIP_PREFIXES)


def is_full_mmcv(entry: str) -> bool:
    return entry in ('mmcv', 'mmdet') or entry.startswith(('mmcv-', 'mmdet-')) and entry.endswith('.dist-info')


def cache_root() -> str:
    """As ``tessera-build-mmcv``: ``$TESSERA_CACHE``, ``$XDG_CACHE_HOME/tessera`` or ``~/.cache/tessera``."""
    if os.environ.get('TESSERA_CACHE'):
        return os.environ['TESSERA_CACHE']
    return os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'tessera')


def install_mmcv_lite(target: str) -> None:
    """Install mmcv-lite into the running interpreter's environment (whose site-packages is ``target``),
    without dependencies (the base provides them), from the cached wheel."""
    if os.path.isdir(os.path.join(target, f'mmcv_lite-{MMCV_LITE}.dist-info')):
        return
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    wheel_dir = os.path.join(cache_root(), 'wheels', f'mmcv-lite-{MMCV_LITE}')
    wheels = glob.glob(os.path.join(wheel_dir, f'mmcv_lite-{MMCV_LITE}-*.whl'))
    if not wheels:  # downloaded beside the cache, then renamed in: environments run in parallel
        os.makedirs(wheel_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheel_dir, prefix='.download-') as tmp:
            subprocess.run([*pip, 'download', '--quiet', '--no-deps', f'mmcv-lite=={MMCV_LITE}', '-d', tmp],
                           check=True)
            for name in os.listdir(tmp):
                os.replace(os.path.join(tmp, name), os.path.join(wheel_dir, name))
        wheels = glob.glob(os.path.join(wheel_dir, f'mmcv_lite-{MMCV_LITE}-*.whl'))
    subprocess.run([*pip, 'install', '--quiet', '--no-deps', wheels[0]], check=True)
    print(f'[link_base_env] mmcv-lite {MMCV_LITE} installed from {wheels[0]} (no full mmcv, no mmdet)')


def main() -> int:
    args = [a for a in sys.argv[1:] if a != '--lite-mmcv']
    lite = len(args) < len(sys.argv) - 1
    target = os.path.abspath(args[0])
    if len(args) > 1:
        base = os.path.abspath(args[1])
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        pyver = f'python{sys.version_info[0]}.{sys.version_info[1]}'
        base = os.path.join(root, '.venv', 'lib', pyver, 'site-packages')
    if not os.path.isdir(base):
        print(f'[link_base_env] base site-packages not found: {base} (run scripts/setup.sh)', file=sys.stderr)
        return 1
    # The environment's own setuptools may be too new for mim (no pkg_resources):
    # use the base's pinned one. A reused environment may hold links of the other mmcv mode.
    for entry in os.listdir(target):
        path = os.path.join(target, entry)
        if lite and os.path.islink(path) and is_full_mmcv(entry):  # links of a previous full-mmcv run
            os.unlink(path)
        elif not lite and not os.path.islink(path) and entry.startswith('mmcv'):  # a previous mmcv-lite
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        elif entry.startswith(BASE_WINS):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    linked = 0
    for entry in sorted(os.listdir(base)):
        if is_tessera(entry) or entry.startswith('pip') or lite and is_full_mmcv(entry):
            continue
        dst = os.path.join(target, entry)
        if os.path.lexists(dst):
            continue
        src = os.path.join(base, entry)
        if entry.endswith('.pth'):
            shutil.copy(src, dst)  # .pth files are only read from real site dirs
        else:
            os.symlink(src, dst)
        linked += 1
    print(f'[link_base_env] {linked} entries of {base} linked into {target}')
    if lite:
        install_mmcv_lite(target)
    return 0


if __name__ == '__main__':
    sys.exit(main())
