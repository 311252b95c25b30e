"""What the detection benchmark scripts share: a detector rebuilt from its config and a checkpoint, in eval mode,
and the val canvases packed with their ground truth as in training.

The scripts are run from the repository root as ``python packages/detection/benchmarks/<name>.py``, so this
folder is first on ``sys.path`` and ``from _checkpoint_model import ...`` finds this file.
"""
import copy
from typing import Tuple


def load_detector(config: str, checkpoint: str) -> Tuple['Config', 'torch.nn.Module']:
    """``(cfg, model)``: the config's detector with the checkpoint's weights, on CPU, in eval mode.

    Importing ``tessera_core`` makes mmengine's checkpoint loading weights-only (no code from the file runs).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import tessera_core.models  # noqa: F401 (safe checkpoint loading; registers tessera_core.ResNet)
    from tessera_detection.registry import MODELS

    cfg = Config.fromfile(config)
    init_default_scope('tessera_detection')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return cfg, model.eval()


def val_with_ground_truth(cfg):
    """The config's val dataset with its training pipeline, so every item carries its ground-truth instances."""
    from tessera_detection.registry import DATASETS

    val = copy.deepcopy(cfg.val_dataloader.dataset)
    val.pipeline = cfg.train_pipeline
    val.test_mode = False
    return DATASETS.build(val)
