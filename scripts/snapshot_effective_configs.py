"""Write every config's effective dict (``Config.fromfile(path).to_dict()``) to a JSON file.

Used to prove that moving a package's base configs into tessera-core (``tessera_core::`` bases)
leaves the effective configs unchanged: the snapshot is taken before the move and
``tests/test_shared_base_configs.py`` compares the configs of the moved tree with it.

    python scripts/snapshot_effective_configs.py tests/data/effective_configs.json

The committed snapshot was taken in a worktree of main with the move commit reverted
(``git revert --no-commit 07a5a29``), so it holds every other change (e.g. the ResNet options'
config edits) and only the move differs; its ``commit`` field says so.
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_GLOBS = ('shared/tessera_core/configs/**/*.py', 'packages/*/tessera_*/configs/**/*.py')


def config_paths():
    """Every runnable config (not the ``_base_`` pieces), relative to the repository root."""
    paths = []
    for pattern in CONFIG_GLOBS:
        paths += [osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, pattern), recursive=True)
                  if '/_base_/' not in p]
    return sorted(paths)


def effective_config(path: str) -> dict:
    """The config's fully inherited dict, normalised through JSON (tuples become lists)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, path), import_custom_modules=False)
    return json.loads(json.dumps(cfg.to_dict(), sort_keys=True, default=repr))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='JSON file to write')
    args = parser.parse_args(argv)
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    snapshot = dict(commit=commit, configs={p: effective_config(p) for p in config_paths()})
    with open(args.out, 'w') as f:
        json.dump(snapshot, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'{len(snapshot["configs"])} configs at {commit[:10]} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
