"""The metainfo of a config's test dataset (e.g. ``classes``), read without building the dataset."""
from mmengine.config import Config
from mmengine.registry import DATASETS


def dataset_meta_of(cfg: Config) -> dict:
    """``test_dataloader.dataset.metainfo`` over the ``METAINFO`` of the dataset's class,
    looked up in the config's default scope; ``{}`` when neither is known."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    meta = {}
    dataset_type = dataset.get('type')
    if isinstance(dataset_type, str):
        try:
            with DATASETS.switch_scope_and_registry(cfg.get('default_scope', 'tessera_core')) as registry:
                dataset_cls = registry.get(dataset_type)
        except Exception:  # a dataset module that fails to import must not stop inference
            dataset_cls = None
        meta.update(getattr(dataset_cls, 'METAINFO', None) or {})
    elif isinstance(dataset_type, type):
        meta.update(getattr(dataset_type, 'METAINFO', None) or {})
    meta.update(dataset.get('metainfo') or {})
    return meta
