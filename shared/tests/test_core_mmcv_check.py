"""Importing tessera-core without a supported mmcv: one message naming what is installed and the two installs.

Each case runs ``import tessera_core`` in a fresh interpreter in which mmcv is hidden (an import blocker and
no distribution metadata) or replaced by a fake package of another version placed first on ``sys.path``.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from tessera_core import _mmcv_check

HIDE_MMCV = textwrap.dedent('''
    import importlib.metadata as md, sys
    class HideMMCV:  # as if no mmcv were installed: no module, no distribution
        def find_spec(self, name, path=None, target=None):
            if name == 'mmcv' or name.startswith('mmcv.'):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, HideMMCV())
    _version = md.version
    def version(name):
        if name in ('mmcv', 'mmcv-lite', 'mmcv-full'):
            raise md.PackageNotFoundError(name)
        return _version(name)
    md.version = version
''')


def _python(code, **kw):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, **kw)


def _fake_mmcv(root, version, dist='mmcv-full'):
    """A package ``mmcv`` of ``version`` and its distribution metadata, in ``root``."""
    (root / 'mmcv').mkdir()
    (root / 'mmcv' / '__init__.py').write_text(f'__version__ = {version!r}\n')
    info = root / f'{dist.replace("-", "_")}-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n')
    return str(root)


def _assert_one_message(stderr, installed):
    assert stderr.count('tessera-core needs mmcv>=2.0.0rc4,<2.2.0') == 1, stderr
    assert 'During handling' not in stderr, stderr  # one error, not a chain of them
    message = stderr[stderr.index('ImportError: '):]
    assert f'installed: {installed}' in message
    assert 'pip install "tessera-core[lite]"' in message  # the lite way ...
    assert 'tessera-build-mmcv' in message  # ... and the full build, shipped in tessera-core
    assert 'tessera-detection' in message  # which of the two detection needs


def test_without_mmcv_the_import_names_none_and_both_install_commands():
    proc = _python(HIDE_MMCV + 'import tessera_core\n')
    assert proc.returncode != 0
    _assert_one_message(proc.stderr, 'none')
    assert 'pip uninstall' not in proc.stderr  # nothing to remove first


@pytest.mark.parametrize('version', ['1.7.2', '2.2.0'])
def test_mmcv_outside_the_range_is_named_with_its_version(tmp_path, version):
    path = _fake_mmcv(tmp_path, version)
    proc = _python(f'import sys; sys.path.insert(0, {path!r}); import tessera_core')
    assert proc.returncode != 0
    _assert_one_message(proc.stderr, '')
    assert f'mmcv-full {version}' in proc.stderr and f'mmcv.__version__ is {version}' in proc.stderr
    assert 'pip uninstall -y' in proc.stderr and 'mmcv-full' in proc.stderr.split('pip uninstall -y')[1]


def test_supported_range_is_mmdets():
    assert [_mmcv_check.in_range(v) for v in ('1.7.2', '2.0.0rc3', '2.0.0rc4', '2.0.1', '2.1.0', '2.2.0')] == \
        [False, False, True, True, True, False]


def test_installed_mmcv_here_passes_the_check():
    _mmcv_check.check_mmcv()  # full mmcv here (tox core env and .venv)
    assert _mmcv_check.describe_installed().startswith(('mmcv 2.', 'mmcv-lite 2.'))


def test_the_build_tool_starts_without_mmcv():
    """``tessera-build-mmcv`` imports tessera_core's package: the check must let it through, since it is
    the fix."""
    code = HIDE_MMCV + textwrap.dedent('''
        sys.argv = ['/some/venv/bin/tessera-build-mmcv', '--help']
        from tessera_core.tools.build_mmcv import main
        sys.exit(main())
    ''')
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert 'usage: tessera-build-mmcv' in proc.stdout and 'C++20' in proc.stdout
    # any other program importing tessera_core still gets the message
    assert _python(HIDE_MMCV + 'import tessera_core\n').returncode != 0


def test_the_wheel_ships_the_console_script():
    script = os.path.join(os.path.dirname(sys.executable), 'tessera-build-mmcv')
    assert os.path.isfile(script), f'{script} missing: [project.scripts] of shared/pyproject.toml'
    import importlib.metadata as md
    eps = {ep.name: ep.value for ep in md.distribution('tessera-core').entry_points}
    assert eps['tessera-build-mmcv'] == 'tessera_core.tools.build_mmcv:main'
    extras = md.distribution('tessera-core').metadata.get_all('Requires-Dist')
    assert 'mmcv-lite==2.1.0; extra == "lite"' in extras
    assert not [r for r in extras if r.split(';')[0].strip().split('>')[0].split('=')[0].split('<')[0] == 'mmcv']
