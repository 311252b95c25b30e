"""Make editable Tessera installs visible to ``mim``.

``mim train PKG`` looks for ``<dist location>/<module>/tools/train.py``, where
the dist location of a PEP 660 editable install is site-packages, which holds
no module folder. A symlink ``site-packages/<module> -> <source>/<module>`` gives
mim that path; Python's import resolves to the same source files either way.
"""
import importlib.metadata as md
import json
import os
import site
import sys


def main() -> int:
    site_packages = site.getsitepackages()[0]
    for dist in md.distributions():
        name = dist.metadata['Name'] or ''
        if not name.startswith('tessera-'):
            continue
        direct = dist.read_text('direct_url.json')
        if not direct or not json.loads(direct).get('dir_info', {}).get('editable'):
            continue
        source = json.loads(direct)['url'].removeprefix('file://')
        module = name.replace('-', '_')
        target = os.path.join(source, module)
        link = os.path.join(site_packages, module)
        if not os.path.isdir(target):
            print(f'[link_editable] {name}: {target} missing', file=sys.stderr)
            return 1
        if os.path.islink(link):
            os.unlink(link)
        elif os.path.exists(link):
            continue  # a regular install owns the path
        os.symlink(target, link)
        print(f'[link_editable] {link} -> {target}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
