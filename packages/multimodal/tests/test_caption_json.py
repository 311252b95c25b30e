import json

import pytest

from tessera_multimodal.datasets.caption_json import read_coco_captions, read_karpathy_split


def dump(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


COCO = dict(
    info={}, licenses=[],
    images=[dict(id=391895, file_name='COCO_val2014_000000391895.jpg', width=640, height=360),
            dict(id=522418, file_name='COCO_val2014_000000522418.jpg'),
            dict(id=7, file_name='no_caption.jpg')],
    annotations=[dict(id=1, image_id=522418, caption='A woman cutting a cake. '),
                 dict(id=2, image_id=391895, caption='A man riding a bike.'),
                 dict(id=3, image_id=522418, caption='Someone slicing cake.')])

KARPATHY = dict(dataset='coco', images=[
    dict(filepath='val2014', filename='COCO_val2014_000000391895.jpg', imgid=0, split='test', cocoid=391895,
         sentids=[0, 1], sentences=[dict(raw='A man riding a bike.', tokens=['a', 'man', 'riding', 'a', 'bike'],
                                         imgid=0, sentid=0),
                                    dict(raw='A cyclist on a dirt road.', imgid=0, sentid=1)]),
    dict(filepath='train2014', filename='COCO_train2014_000000000009.jpg', imgid=1, split='restval', cocoid=9,
         sentences=[dict(raw='Food in a bowl.', tokens=['food', 'in', 'a', 'bowl'], imgid=1, sentid=2)]),
    dict(filename='1000268201_693b08cb0e.jpg', imgid=2, split='train',
         sentences=[dict(raw='A child in pink.', tokens=['a', 'child', 'in', 'pink'], imgid=2, sentid=3)])])


def test_coco_captions_grouped_per_image(tmp_path):
    recs = read_coco_captions(dump(tmp_path, 'captions.json', COCO))
    assert recs == [dict(image_id=391895, file_name='COCO_val2014_000000391895.jpg', captions=['A man riding a bike.']),
                    dict(image_id=522418, file_name='COCO_val2014_000000522418.jpg',
                         captions=['A woman cutting a cake.', 'Someone slicing cake.']),
                    dict(image_id=7, file_name='no_caption.jpg', captions=[])]


def test_coco_caption_without_image_names_file_annotation_and_id(tmp_path):
    bad = dict(COCO, annotations=COCO['annotations'] + [dict(id=99, image_id=123, caption='Lost.')])
    with pytest.raises(ValueError, match=r'bad\.json: annotation #3 \(id=99\) has image_id 123, which no entry'):
        read_coco_captions(dump(tmp_path, 'bad.json', bad))


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d.pop('annotations'), '"annotations" list'),
    (lambda d: d['images'][1].pop('file_name'), r"image #1 \(id=522418\) has no 'file_name'"),
    (lambda d: d['annotations'][0].update(caption=' '), r'annotation #0 \(id=1\) has an empty caption'),
    (lambda d: d['annotations'][2].update(caption=5), r"annotation #2 \(id=3\) 'caption' must be str"),
    (lambda d: d['images'].append(dict(id=7, file_name='x.jpg')), 'image #3 repeats image id 7'),
])
def test_coco_bad_entries(tmp_path, mutate, message):
    data = json.loads(json.dumps(COCO))
    mutate(data)
    with pytest.raises(ValueError, match=message):
        read_coco_captions(dump(tmp_path, 'c.json', data))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        read_coco_captions(str(tmp_path / 'nope.json'))
    (tmp_path / 'broken.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid json'):
        read_karpathy_split(str(tmp_path / 'broken.json'))


def test_karpathy_split(tmp_path):
    path = dump(tmp_path, 'dataset_coco.json', KARPATHY)
    recs = read_karpathy_split(path)
    assert [(r['image_id'], r['split'], r['file_name']) for r in recs] == [
        (391895, 'test', 'val2014/COCO_val2014_000000391895.jpg'),
        (9, 'restval', 'train2014/COCO_train2014_000000000009.jpg'), (2, 'train', '1000268201_693b08cb0e.jpg')]
    assert recs[0]['captions'] == ['A man riding a bike.', 'A cyclist on a dirt road.']
    assert recs[0]['tokens'] == [['a', 'man', 'riding', 'a', 'bike'], ['a', 'cyclist', 'on', 'a', 'dirt', 'road.']]
    assert [r['image_id'] for r in read_karpathy_split(path, ('train', 'restval'))] == [9, 2]
    assert [r['image_id'] for r in read_karpathy_split(path, 'test')] == [391895]
    with pytest.raises(ValueError, match='unknown Karpathy split'):
        read_karpathy_split(path, 'dev')


def test_karpathy_sentence_of_another_image_names_both(tmp_path):
    data = json.loads(json.dumps(KARPATHY))
    data['images'][1]['sentences'][0]['imgid'] = 5
    with pytest.raises(ValueError, match=r'image #1 \(imgid=1\) sentence #0 \(imgid=5\) has imgid 5, but its image '
                                         r'has imgid 1'):
        read_karpathy_split(dump(tmp_path, 'k.json', data))


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d['images'][0].update(split='dev'), r"image #0 \(imgid=0\) has split 'dev'"),
    (lambda d: d['images'][2].update(sentences=[]), r'image #2 \(imgid=2\) has no sentences'),
    (lambda d: d['images'][0]['sentences'][1].pop('raw'), r"image #0 \(imgid=0\) sentence #1 \(imgid=0\) has no 'raw'"),
    (lambda d: d['images'][2].pop('imgid'), r"image #2 \(filename='1000268201_693b08cb0e.jpg'\) has neither"),
])
def test_karpathy_bad_entries(tmp_path, mutate, message):
    data = json.loads(json.dumps(KARPATHY))
    mutate(data)
    with pytest.raises(ValueError, match=message):
        read_karpathy_split(dump(tmp_path, 'k.json', data))
