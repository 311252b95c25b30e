"""The README method tables are generated from the metafiles (scripts/gen_tables.py).

Runs the script as a subprocess (``sys.executable``): once on the repository with
``--check`` (the committed READMEs must match the metafiles), and on small fake
repository trees built in ``tmp_path`` (``--root``) for the generated text, idempotence,
``--check`` and every validation error. Reads files only: imports no Tessera package.
"""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'scripts' / 'gen_tables.py'

PKG_START, PKG_END = '<!-- metafile-table:start -->', '<!-- metafile-table:end -->'
TOP_START, TOP_END = '<!-- status-table:start -->', '<!-- status-table:end -->'

METAFILE_REL = 'packages/reid/tessera_reid/configs/cbn/metafile.yml'
INDEX_REL = 'packages/reid/tessera_reid/model-index.yml'

CATALOG = """\
# Seed papers

| package | wave | method | arXiv | title |
|---|---|---|---|---|
| core | 1 | GhostNet |  | GhostNet: More Features from Cheap Operations |
| core | 1 | DCD | 2103.08756 | Revisiting Dynamic Convolution via Matrix Decomposition (DCD) |
| reid | 2 | CBN |  | Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization |
| reid | 2 | ITM | 1812.06576 | Multi-stage training with incremental triplet margin |

Text after the table.
"""

METAFILE = """\
Collections:
  - Name: CBN
    Metadata:
      Architecture: [CameraBN]
    Paper:
      Title: Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization
      URL: https://arxiv.org/abs/2001.08680
    README: configs/cbn/README.md
    Code: tessera_reid/models/cbn.py
  - Name: ReIDBaseline
    Metadata:
      Architecture: [ResNet]
    Paper:
      Title: Deep Residual Learning for Image Recognition
      URL: https://example.org/resnet
Models:
  - Name: cbn_r18_digits
    In Collection: CBN
    Config: configs/cbn/cbn_r18_digits.py
    Metadata:
      Catalog Method: CBN
      Status: implemented
      Training Data: EmbeddedDigits
      Parameters: 11200000
    Results:
      - Task: Person Re-identification
        Dataset: EmbeddedDigits
        Metrics:
          mAP: 41.20
          rank1: 63.5
    Command: mim train tessera-reid configs/cbn/cbn_r18_digits.py
  - Name: cbn_r18_planned
    In Collection: CBN
    Config: configs/cbn/cbn_r18_planned.py
    Metadata:
      Catalog Method: CBN
      Status: planned
  - Name: baseline_r18_digits
    In Collection: ReIDBaseline
    Config: configs/cbn/baseline_r18_digits.py
    Metadata:
      Catalog Method: none
      Status: smoke
    Results:
      - Task: Person Re-identification
        Dataset: EmbeddedDigits
        Metrics:
          rank1: 50
"""

PACKAGE_README = f"""\
# tessera-reid

Intro text that must survive.

{PKG_START}
(old table)
{PKG_END}

Footer that must survive.
"""

TOP_README = f"""\
# Tessera

{TOP_START}
{TOP_END}

End.
"""

EXPECTED_PACKAGE_TABLE = """\
| method | paper | config | status | measured here |
|---|---|---|---|---|
| [CBN](tessera_reid/configs/cbn/README.md) | [Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization](https://arxiv.org/abs/2001.08680) (arXiv:2001.08680) | [cbn_r18_digits.py](tessera_reid/configs/cbn/cbn_r18_digits.py) | implemented | mAP 41.20, rank1 63.5 (EmbeddedDigits) |
| [CBN](tessera_reid/configs/cbn/README.md) | [Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization](https://arxiv.org/abs/2001.08680) (arXiv:2001.08680) | [cbn_r18_planned.py](tessera_reid/configs/cbn/cbn_r18_planned.py) | planned | — |
| ReIDBaseline | [Deep Residual Learning for Image Recognition](https://example.org/resnet) | [baseline_r18_digits.py](tessera_reid/configs/cbn/baseline_r18_digits.py) | smoke | rank1 50 (EmbeddedDigits) |"""

CFG = 'packages/reid/tessera_reid/configs/cbn'
EXPECTED_STATUS_TABLE = f"""\
| package | wave | method | arXiv | status | configs |
|---|---|---|---|---|---|
| core | 1 | GhostNet | — | planned | — |
| core | 1 | DCD | [2103.08756](https://arxiv.org/abs/2103.08756) | planned | — |
| reid | 2 | CBN | — | implemented | [cbn_r18_digits]({CFG}/cbn_r18_digits.py), [cbn_r18_planned]({CFG}/cbn_r18_planned.py) |
| reid | 2 | ITM | [1812.06576](https://arxiv.org/abs/1812.06576) | planned | — |

**4 catalog methods:** 1 implemented, 0 smoke, 3 planned.

Foundation components (models whose `Catalog Method` is `none`):

| package | component | config | status |
|---|---|---|---|
| tessera-reid | ReIDBaseline | [baseline_r18_digits]({CFG}/baseline_r18_digits.py) | smoke |"""


def write(root, rel, text):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    return path


def read(root, rel):
    return (Path(root) / rel).read_text(encoding='utf-8')


def edit(root, rel, old, new):
    text = read(root, rel)
    assert old in text, f'{old!r} not in {rel}'
    write(root, rel, text.replace(old, new, 1))


def make_tree(root):
    """A minimal repository: catalog, one distribution (packages/reid), READMEs with markers."""
    write(root, 'docs/catalog.md', CATALOG)
    write(root, 'README.md', TOP_README)
    write(root, 'packages/reid/README.md', PACKAGE_README)
    write(root, 'packages/reid/tessera_reid/__init__.py', '')
    write(root, INDEX_REL, 'Import:\n  - configs/cbn/metafile.yml\n')
    write(root, METAFILE_REL, METAFILE)
    write(root, f'{CFG}/README.md', '# CBN\n')
    for name in ('cbn_r18_digits', 'cbn_r18_planned', 'baseline_r18_digits'):
        write(root, f'{CFG}/{name}.py', "default_scope = 'tessera_reid'\n")
    return Path(root)


def run(*args, root=None, cwd=None):
    cmd = [sys.executable, str(SCRIPT), *args]
    if root is not None:
        cmd += ['--root', str(root)]
    return subprocess.run(cmd, cwd=cwd or REPO, capture_output=True, text=True, timeout=120)


def region(text, start, end):
    assert text.count(start) == 1 and text.count(end) == 1
    return text.split(start, 1)[1].split(end, 1)[0].strip('\n')


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(Path(root).rglob('*')) if p.is_file()}


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / 'repo')


# --------------------------------------------------------------------------- the repository
def test_repo_readmes_in_sync_with_metafiles():
    """The committed READMEs are what the generator produces from the metafiles."""
    proc = run('--check')
    assert proc.returncode == 0, (
        'README tables out of date or metadata invalid; run `python scripts/gen_tables.py`\n'
        f'{proc.stdout}{proc.stderr}')


def test_repo_catalog_has_113_methods():
    rows = [line for line in read(REPO, 'docs/catalog.md').splitlines()
            if line.startswith('|') and not line.startswith(('| package', '|---'))]
    assert len(rows) == 113


# --------------------------------------------------------------------------- generation
def test_generates_package_table(tree):
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    text = read(tree, 'packages/reid/README.md')
    assert region(text, PKG_START, PKG_END) == EXPECTED_PACKAGE_TABLE
    assert text.startswith('# tessera-reid\n\nIntro text that must survive.\n\n' + PKG_START)
    assert text.endswith(PKG_END + '\n\nFooter that must survive.\n')
    assert '(old table)' not in text
    assert 'updated   packages/reid/README.md' in proc.stdout
    assert 'updated   README.md' in proc.stdout


def test_generates_status_table_in_catalog_order(tree):
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    text = read(tree, 'README.md')
    assert region(text, TOP_START, TOP_END) == EXPECTED_STATUS_TABLE
    assert text.startswith('# Tessera\n\n' + TOP_START + '\n')
    assert text.endswith(TOP_END + '\n\nEnd.\n')


def test_best_status_wins_and_links_resolve(tree):
    # A second smoke model for ITM next to a planned one: ITM becomes smoke.
    write(tree, f'{CFG}/itm_r18_digits.py', '')
    write(tree, f'{CFG}/itm_r18_planned.py', '')
    edit(tree, METAFILE_REL, 'Models:\n', textwrap.dedent("""\
        Models:
          - Name: itm_r18_planned
            In Collection: CBN
            Config: configs/cbn/itm_r18_planned.py
            Metadata: {Catalog Method: ITM, Status: planned}
          - Name: itm_r18_digits
            In Collection: CBN
            Config: configs/cbn/itm_r18_digits.py
            Metadata: {Catalog Method: ITM, Status: smoke}
        """))
    assert run(root=tree).returncode == 0
    top = read(tree, 'README.md')
    assert (f'| reid | 2 | ITM | [1812.06576](https://arxiv.org/abs/1812.06576) | smoke | '
            f'[itm_r18_digits]({CFG}/itm_r18_digits.py), [itm_r18_planned]({CFG}/itm_r18_planned.py) |') in top
    assert '**4 catalog methods:** 1 implemented, 1 smoke, 2 planned.' in top
    # Every generated link points at an existing file, relative to its README.
    for rel in ('README.md', 'packages/reid/README.md'):
        base = (tree / rel).parent
        for target in re.findall(r'\]\(([^)]+)\)', read(tree, rel)):
            if not target.startswith('http'):
                assert (base / target).is_file(), (rel, target)


def test_generation_is_idempotent(tree):
    assert run(root=tree).returncode == 0
    first = snapshot(tree)
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(tree) == first
    assert 'unchanged packages/reid/README.md' in proc.stdout and 'unchanged README.md' in proc.stdout
    assert '0 of 2 READMEs updated' in proc.stdout
    check = run('--check', root=tree)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'in sync' in check.stdout


def test_check_fails_on_hand_edited_table_and_changes_nothing(tree):
    assert run(root=tree).returncode == 0
    edit(tree, 'packages/reid/README.md', '| smoke | rank1 50 (EmbeddedDigits) |',
         '| implemented | rank1 99 (EmbeddedDigits) |')
    before = snapshot(tree)
    proc = run('--check', root=tree)
    assert proc.returncode == 1
    assert snapshot(tree) == before
    assert '--- a/packages/reid/README.md' in proc.stdout and '+++ b/packages/reid/README.md' in proc.stdout
    assert '-| ReIDBaseline |' in proc.stdout and 'rank1 99' in proc.stdout
    assert '+| ReIDBaseline |' in proc.stdout and 'rank1 50' in proc.stdout
    assert 'packages/reid/README.md' in proc.stderr and 'README.md' in proc.stderr
    # Regenerating repairs it.
    assert run(root=tree).returncode == 0
    assert run('--check', root=tree).returncode == 0


def test_check_fails_when_metafile_changes(tree):
    assert run(root=tree).returncode == 0
    edit(tree, METAFILE_REL, 'Status: smoke', 'Status: planned')
    proc = run('--check', root=tree)
    assert proc.returncode == 1
    assert '-| ReIDBaseline |' in proc.stdout


def test_check_on_fresh_tree_reports_every_stale_readme(tree):
    before = snapshot(tree)
    proc = run('--check', root=tree)
    assert proc.returncode == 1
    assert snapshot(tree) == before
    assert '+++ b/README.md' in proc.stdout and '+++ b/packages/reid/README.md' in proc.stdout


def test_several_distributions_including_core(tree):
    """shared/ is the 'core' distribution: core catalog methods are valid there."""
    write(tree, 'shared/README.md', f'# tessera-core\n{PKG_START}\n{PKG_END}\n')
    write(tree, 'shared/tessera_core/model-index.yml', 'Import: [configs/dcd/metafile.yml]\n')
    write(tree, 'shared/tessera_core/configs/dcd/dcd_r18.py', '')
    write(tree, 'shared/tessera_core/configs/dcd/metafile.yml', textwrap.dedent("""\
        Collections:
          - Name: DCD
            Paper: {Title: Revisiting Dynamic Convolution via Matrix Decomposition, URL: 'https://arxiv.org/pdf/2103.08756v2'}
        Models:
          - Name: dcd_r18
            In Collection: DCD
            Config: configs/dcd/dcd_r18.py
            Metadata: {Catalog Method: DCD, Status: smoke}
        """))
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    assert region(read(tree, 'shared/README.md'), PKG_START, PKG_END).splitlines()[2] == (
        '| DCD | [Revisiting Dynamic Convolution via Matrix Decomposition](https://arxiv.org/pdf/2103.08756v2) '
        '(arXiv:2103.08756) | [dcd_r18.py](tessera_core/configs/dcd/dcd_r18.py) | smoke | — |')
    assert ('| core | 1 | DCD | [2103.08756](https://arxiv.org/abs/2103.08756) | smoke | '
            '[dcd_r18](shared/tessera_core/configs/dcd/dcd_r18.py) |') in read(tree, 'README.md')
    assert '**4 catalog methods:** 1 implemented, 1 smoke, 2 planned.' in read(tree, 'README.md')


def test_fake_tree_is_readable_by_mim_model_index(tree):
    """The format the tests exercise is the one `mim search` loads (modelindex)."""
    modelindex = pytest.importorskip('modelindex.load_model_index')
    index = modelindex.load(str(tree / INDEX_REL))
    assert sorted(m.name for m in index.models) == ['baseline_r18_digits', 'cbn_r18_digits', 'cbn_r18_planned']


def test_repo_model_indexes_are_readable_by_mim():
    """Every real model-index.yml loads with modelindex (what `mim search tessera-<pkg>` uses)."""
    modelindex = pytest.importorskip('modelindex.load_model_index')
    indexes = sorted(REPO.glob('shared/tessera_*/model-index.yml')) + sorted(
        REPO.glob('packages/*/tessera_*/model-index.yml'))
    if not indexes:
        pytest.skip('no model-index.yml written yet')
    for path in indexes:
        index = modelindex.load(str(path))
        names = [m.name for m in index.models]
        assert len(names) == len(set(names)), path


# --------------------------------------------------------------------------- validation errors
def _drop_end_marker(root):
    edit(root, 'packages/reid/README.md', PKG_END, '')


def _unimported_metafile(root):
    write(root, 'packages/reid/tessera_reid/configs/extra/metafile.yml', 'Models: []\n')


def _remove_top_readme(root):
    (root / 'README.md').unlink()


def _remove_model_index(root):
    (root / INDEX_REL).unlink()


def _duplicate_model(root):
    edit(root, METAFILE_REL, '  - Name: cbn_r18_planned\n',
         '  - Name: cbn_r18_digits\n'
         '    In Collection: CBN\n'
         '    Config: configs/cbn/cbn_r18_digits.py\n'
         '    Metadata: {Catalog Method: CBN, Status: smoke}\n'
         '  - Name: cbn_r18_planned\n')


def _duplicate_model_other_metafile(root):
    write(root, 'packages/reid/tessera_reid/configs/other/metafile.yml', textwrap.dedent("""\
        Models:
          - Name: cbn_r18_digits
            In Collection: CBN
            Config: configs/cbn/cbn_r18_digits.py
            Metadata: {Catalog Method: CBN, Status: smoke}
        """))
    write(root, INDEX_REL, 'Import:\n  - configs/cbn/metafile.yml\n  - configs/other/metafile.yml\n')


VALIDATION_CASES = {
    'unknown status': (
        lambda r: edit(r, METAFILE_REL, 'Status: implemented', 'Status: done'),
        [METAFILE_REL, 'Models[0] (cbn_r18_digits).Metadata.Status', "'done'", 'planned, smoke, implemented']),
    'config path does not exist': (
        lambda r: edit(r, METAFILE_REL, 'Config: configs/cbn/cbn_r18_planned.py',
                       'Config: configs/cbn/missing.py'),
        [METAFILE_REL, 'Models[1] (cbn_r18_planned).Config', 'configs/cbn/missing.py', 'does not exist']),
    'catalog method not in catalog': (
        lambda r: edit(r, METAFILE_REL, 'Catalog Method: CBN', 'Catalog Method: CBNet'),
        [METAFILE_REL, 'Models[0] (cbn_r18_digits).Metadata.Catalog Method', "'CBNet'",
         'not in docs/catalog.md', 'close matches: CBN']),
    'catalog method with wrong case': (
        lambda r: edit(r, METAFILE_REL, 'Catalog Method: CBN', 'Catalog Method: cbn'),
        [METAFILE_REL, 'Catalog Method', "'cbn'", 'close matches: CBN']),
    'catalog method None instead of none': (
        lambda r: edit(r, METAFILE_REL, 'Catalog Method: none', 'Catalog Method: None'),
        [METAFILE_REL, '(baseline_r18_digits).Metadata.Catalog Method', "'None'", "write 'none' in lower case"]),
    'catalog method of another package': (
        lambda r: edit(r, METAFILE_REL, 'Catalog Method: CBN', 'Catalog Method: GhostNet'),
        [METAFILE_REL, 'Models[0] (cbn_r18_digits).Metadata.Catalog Method', "'GhostNet'", 'core',
         'belongs to shared/', 'not packages/reid/']),
    'duplicate model names (same metafile)': (
        _duplicate_model, [METAFILE_REL, 'cbn_r18_digits', 'duplicate model name']),
    'duplicate model names (two metafiles)': (
        _duplicate_model_other_metafile,
        ['packages/reid/tessera_reid/configs/other/metafile.yml', 'cbn_r18_digits', 'duplicate model name',
         METAFILE_REL]),
    'import path does not exist': (
        lambda r: write(r, INDEX_REL, 'Import:\n  - configs/cbn/metafile.yml\n  - configs/nope/metafile.yml\n'),
        [INDEX_REL, 'Import[1]', 'configs/nope/metafile.yml', 'does not exist']),
    'metafile not imported': (
        _unimported_metafile,
        ['packages/reid/tessera_reid/configs/extra/metafile.yml', f'not imported by {INDEX_REL}',
         "'configs/extra/metafile.yml'"]),
    'model-index.yml missing': (
        _remove_model_index, [INDEX_REL, 'missing', 'mim search tessera-reid']),
    'package README marker missing': (
        _drop_end_marker, ['packages/reid/README.md', PKG_END, 'not found']),
    'top README marker missing': (
        lambda r: edit(r, 'README.md', TOP_START + '\n', ''), ['README.md', TOP_START, 'not found']),
    'top README missing': (
        _remove_top_readme, ['README.md: missing', TOP_START]),
    'model name is not the config stem': (
        lambda r: edit(r, METAFILE_REL, 'Name: cbn_r18_planned', 'Name: cbn_planned'),
        [METAFILE_REL, 'Models[1] (cbn_planned).Name', "'cbn_r18_planned'"]),
    'unknown collection': (
        lambda r: edit(r, METAFILE_REL, 'In Collection: ReIDBaseline', 'In Collection: Baseline'),
        [METAFILE_REL, '(baseline_r18_digits).In Collection', "'Baseline'", 'CBN, ReIDBaseline']),
    'foundation component claims implemented': (
        lambda r: edit(r, METAFILE_REL, 'Status: smoke', 'Status: implemented'),
        [METAFILE_REL, '(baseline_r18_digits).Metadata.Status', 'foundation component']),
    'metric is not a number': (
        lambda r: edit(r, METAFILE_REL, 'rank1: 50', 'rank1: n/a'),
        [METAFILE_REL, '(baseline_r18_digits).Results[0].Metrics.rank1', "'n/a'"]),
    'duplicate YAML key': (
        lambda r: edit(r, METAFILE_REL, '      Status: planned\n', '      Status: planned\n      Status: smoke\n'),
        [METAFILE_REL, "duplicate key 'Status'"]),
    'catalog method missing': (
        lambda r: edit(r, METAFILE_REL, '      Catalog Method: CBN\n      Status: planned\n', '      Status: planned\n'),
        [METAFILE_REL, 'Models[1] (cbn_r18_planned).Metadata.Catalog Method', 'missing']),
}


@pytest.mark.parametrize('case', list(VALIDATION_CASES))
@pytest.mark.parametrize('check', [False, True], ids=['write', 'check'])
def test_validation_error_names_file_and_key(tree, case, check):
    break_tree, expected = VALIDATION_CASES[case]
    break_tree(tree)
    before = snapshot(tree)
    proc = run(*(['--check'] if check else []), root=tree)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for fragment in expected:
        assert fragment in proc.stderr, f'{fragment!r} not in:\n{proc.stderr}'
    assert snapshot(tree) == before  # nothing is written when anything is invalid


def test_all_problems_reported_at_once(tree):
    edit(tree, METAFILE_REL, 'Status: implemented', 'Status: done')
    _unimported_metafile(tree)
    _drop_end_marker(tree)
    proc = run(root=tree)
    assert proc.returncode == 2
    assert "'done'" in proc.stderr and 'not imported by' in proc.stderr
    assert f'packages/reid/README.md: marker {PKG_END} not found' in proc.stderr


def test_catalog_problems_name_the_line(tree):
    edit(tree, 'docs/catalog.md', '| reid | 2 | ITM |', '| reid | 2 | CBN |')
    proc = run(root=tree)
    assert proc.returncode == 2
    assert 'docs/catalog.md: line 8' in proc.stderr and "'CBN' already listed on line 7" in proc.stderr


# --------------------------------------------------------------------------- git-tracked only
def git(root, *args):
    subprocess.run(['git', '-C', str(root), *args], check=True, capture_output=True,
                   env={'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@t', 'GIT_COMMITTER_NAME': 't',
                        'GIT_COMMITTER_EMAIL': 't@t', 'HOME': str(root), 'PATH': '/usr/bin:/bin'})


def test_untracked_metafile_never_reaches_a_table(tree):
    """In a git work tree, a metafile that git does not track is skipped (uncommitted work stays out)."""
    git(tree, 'init', '-q')
    git(tree, 'add', '.')
    git(tree, 'commit', '-q', '-m', 'tree')
    assert run(root=tree).returncode == 0
    tracked_table = region(read(tree, 'packages/reid/README.md'), PKG_START, PKG_END)
    # work in progress: a second metafile, imported by an edited (tracked) index, not yet added to git
    write(tree, INDEX_REL, 'Import:\n  - configs/cbn/metafile.yml\n  - configs/wip/metafile.yml\n')
    write(tree, 'packages/reid/tessera_reid/configs/wip/metafile.yml',
          METAFILE.replace('cbn_r18', 'wip_r18').replace('Name: CBN', 'Name: WIP')
          .replace('Name: ReIDBaseline', 'Name: WIPBaseline').replace('In Collection: CBN', 'In Collection: WIP')
          .replace('In Collection: ReIDBaseline', 'In Collection: WIPBaseline').replace('configs/cbn/', 'configs/wip/')
          .replace('baseline_r18_digits', 'wip_baseline_r18_digits'))
    for name in ('wip_r18_digits', 'wip_r18_planned', 'wip_baseline_r18_digits', 'README.md'):
        write(tree, f'packages/reid/tessera_reid/configs/wip/{name if name.endswith(".md") else name + ".py"}',
              "default_scope = 'tessera_reid'\n")
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    assert 'configs/wip/metafile.yml: not tracked by git, skipped' in proc.stderr
    assert region(read(tree, 'packages/reid/README.md'), PKG_START, PKG_END) == tracked_table
    assert 'wip_r18' not in read(tree, 'README.md')
    git(tree, 'add', '.')  # once tracked, it counts
    proc = run(root=tree)
    assert proc.returncode == 0, proc.stderr
    assert 'wip_r18_digits' in read(tree, 'packages/reid/README.md')
