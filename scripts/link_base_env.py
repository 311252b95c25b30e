"""Share the heavy third-party packages of ``.venv`` with an isolated environment.

Usage: ``python scripts/link_base_env.py TARGET_SITE_PACKAGES [BASE_SITE_PACKAGES]``

Creates, in the target site-packages, a symlink to every entry of the base
site-packages except Tessera's own packages (and their editable-install
hooks), so torch, mmcv, mmdet... need not be installed again while each Tessera
package is tested with nothing but tessera-core and itself installed.
"""
import os
import shutil
import sys

SKIP_PREFIXES = ('tessera_', 'tessera-', '__editable__', '_tessera', '__pycache__')
BASE_WINS = ('setuptools', 'pkg_resources', '_distutils_hack', 'distutils-precedence', 'wheel')


def is_tessera(entry: str) -> bool:
    return entry.lower().startswith(SKIP_PREFIXES)


def main() -> int:
    target = os.path.abspath(sys.argv[1])
    if len(sys.argv) > 2:
        base = os.path.abspath(sys.argv[2])
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        pyver = f'python{sys.version_info[0]}.{sys.version_info[1]}'
        base = os.path.join(root, '.venv', 'lib', pyver, 'site-packages')
    if not os.path.isdir(base):
        print(f'[link_base_env] base site-packages not found: {base} (run scripts/setup.sh)', file=sys.stderr)
        return 1
    # The environment's own setuptools may be too new for mim (no pkg_resources):
    # use the base's pinned one.
    for entry in os.listdir(target):
        if entry.startswith(BASE_WINS):
            path = os.path.join(target, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    linked = 0
    for entry in sorted(os.listdir(base)):
        if is_tessera(entry) or entry.startswith('pip'):
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
