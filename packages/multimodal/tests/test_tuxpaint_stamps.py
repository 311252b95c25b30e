import os.path as osp

import cv2
import numpy as np
import pytest

from tessera_multimodal.datasets.tuxpaint_stamps import (INSTALL_HINT, TUXPAINT_STAMPS_ROOT, read_description,
                                                         read_stamps, split_stamps)

needs_stamps = pytest.mark.skipif(not osp.isdir(TUXPAINT_STAMPS_ROOT),
                                  reason=f'{TUXPAINT_STAMPS_ROOT} absent (`{INSTALL_HINT}`)')


def write_stamp(root, name, description=None, size=(20, 30), color=(0, 0, 255), lines=None, rect=False):
    """A PNG stamp (opaque ellipse on a transparent square, or an opaque rectangle filling it) + its .txt
    (English line + a translation)."""
    path = root.joinpath(*name.split('/'))
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = size
    img = np.zeros((h, w, 4), np.uint8)
    if rect:
        img[:] = (*color, 255)
    else:
        cv2.ellipse(img, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0, 360, (*color, 255), -1)
    cv2.imwrite(str(path) + '.png', img)
    if lines is not None:
        path.with_name(path.name + '.txt').write_text(''.join(lines), encoding='utf-8')
    elif description is not None:
        path.with_name(path.name + '.txt').write_text(f'{description}\nfr.utf8=Un objet.\n', encoding='utf-8')
    return str(path) + '.png'


def make_fake_root(root):
    write_stamp(root, 'animals/penguin', 'A penguin.')
    write_stamp(root, 'animals/penguin_mirror')                   # mirror of penguin: skipped
    write_stamp(root, 'animals/birds/owl', '  A  brown owl. ')
    write_stamp(root, 'food/apple', 'A red apple.', color=(0, 255, 0))
    write_stamp(root, 'cartoon/tux', None)                        # no txt: skipped
    write_stamp(root, 'cartoon/empty', lines=['\n', 'de.utf8=Leer.\n'])   # no English line: skipped
    (root / 'food' / 'pear.txt').write_text('A pear.\n')          # svg-only: skipped
    return root


def test_reader_keeps_described_pngs_and_names_every_skip(tmp_path):
    stamps, skipped = read_stamps(str(make_fake_root(tmp_path)))
    assert [(s.name, s.category, s.description) for s in stamps] == [
        ('animals/birds/owl', 'animals/birds', 'A brown owl.'), ('animals/penguin', 'animals', 'A penguin.'),
        ('food/apple', 'food', 'A red apple.')]
    assert all(osp.isfile(s.image_path) and s.image_path.endswith(s.name + '.png') for s in stamps)
    reasons = {osp.relpath(s.path, tmp_path): s.reason for s in skipped}
    assert set(reasons) == {'animals/penguin_mirror.png', 'cartoon/tux.png', 'cartoon/empty.txt', 'food/pear.txt'}
    assert 'mirror' in reasons['animals/penguin_mirror.png']
    assert 'no .txt' in reasons['cartoon/tux.png']
    assert 'English' in reasons['cartoon/empty.txt']
    assert 'SVG' in reasons['food/pear.txt']


def test_read_description_english_line_only(tmp_path):
    p = tmp_path / 'a.txt'
    p.write_text('A US 1 cent piece ($.01) called a penny.\nen_GB.utf8=Other.\nca@valencia.utf8=Un.\n')
    assert read_description(str(p)) == 'A US 1 cent piece ($.01) called a penny.'
    p.write_text('en_GB.utf8=Only a translation.\n')
    assert read_description(str(p)) is None


def test_absent_root_names_folder_and_install(tmp_path):
    missing = str(tmp_path / 'nope')
    with pytest.raises(FileNotFoundError, match='nope') as err:
        read_stamps(missing)
    assert INSTALL_HINT in str(err.value)


def test_split_disjoint_seeded_order_free(tmp_path):
    root = tmp_path
    for i in range(20):
        write_stamp(root, f'cat{i % 3}/s{i:02d}', f'Stamp {i}.')
    stamps, _ = read_stamps(str(root))
    a = split_stamps(stamps, 0.25, seed=3)
    b = split_stamps(list(reversed(stamps)), 0.25, seed=3)
    c = split_stamps(stamps, 0.25, seed=4)
    names = lambda part: [s.name for s in part]   # noqa: E731
    assert names(a['test']) == names(b['test']) and names(a['train']) == names(b['train'])
    assert names(a['test']) != names(c['test'])
    assert len(a['test']) == 5 and len(a['train']) == 15
    assert not set(names(a['test'])) & set(names(a['train']))
    assert set(names(a['test'])) | set(names(a['train'])) == {s.name for s in stamps}
    with pytest.raises(ValueError, match='test_fraction'):
        split_stamps(stamps, 1.0)


@needs_stamps
def test_real_collection():
    stamps, skipped = read_stamps()
    assert len(stamps) > 700
    assert all(s.description and '.utf8=' not in s.description for s in stamps)
    assert not any(s.name.endswith('_mirror') for s in stamps)
    penguin = [s for s in stamps if s.name == 'animals/birds/penguin']
    assert penguin and penguin[0].description == 'A penguin.' and penguin[0].category == 'animals/birds'
    parts = split_stamps(stamps)
    assert not {s.name for s in parts['test']} & {s.name for s in parts['train']}
