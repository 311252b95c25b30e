"""The "Python API" example of the top README runs as written (extracted from README.md, so
the two cannot drift), and model names of every installed package resolve through it."""
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    """The one ```python block of the README's "## Python API" section."""
    text = (REPO / 'README.md').read_text()
    if '\n## Python API\n' not in text:
        pytest.fail('README.md has no "## Python API" section')
    section = text.split('\n## Python API\n', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```python\n(.*?)```', section, flags=re.S)
    assert len(blocks) == 1, f'expected one python block in the Python API section, found {len(blocks)}'
    return blocks[0]


def test_readme_example_is_five_lines_and_runs(monkeypatch):
    code = readme_example()
    assert len(code.strip().splitlines()) == 5
    monkeypatch.chdir(REPO)  # the example names the config relative to the repository
    namespace = {}
    exec(compile(code, 'README.md (Python API)', 'exec'), namespace)
    result, model = namespace['result'], namespace['model']
    assert model.cfg.default_scope == 'tessera_core' and not model.training
    assert result['pred_scores'].shape == (10,)
    assert result['pred_label'] == int(np.argmax(result['pred_scores']))
    assert result['pred_class'] == str(result['pred_label'])  # EmbeddedDigits' classes '0'..'9'


@pytest.mark.parametrize('name, package, adapter', [
    ('resnet18-w16_embedded-digits', 'tessera-core', 'ClsOutputAdapter'),
    ('retinanet_resnet18-w16_fpn_digit-canvas', 'tessera-detection', 'DetOutputAdapter'),
    ('bnneck_resnet18-w16_embedded-digits', 'tessera-reid', 'ReIDOutputAdapter'),
    ('tsm_resnet18-w16_moving-digits', 'tessera-video', 'VideoOutputAdapter'),
])
def test_names_of_every_package_resolve_to_their_scope_and_adapter(name, package, adapter):
    from tessera_core.apis import find_model, get_output_adapter, list_models
    from mmengine.config import Config
    assert name in list_models()
    info = find_model(name)
    assert info.package == package and Path(info.config).is_file()
    cfg = Config.fromfile(info.config)
    assert type(get_output_adapter(cfg.model.type, cfg.default_scope)).__name__ == adapter
