"""A named set of recorders built from config, with a recording context."""
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

from torch import nn

from tessera_compression.registry import TASK_UTILS

from .base_recorder import BaseRecorder, close_matches

__all__ = ['RecorderManager']


class RecorderManager:
    """``recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward'),
    feat=dict(type='ModuleOutputsRecorder', source='backbone.layer4'))``.

    :meth:`initialize` attaches every recorder to one model; inside :meth:`recording` each recorder
    starts empty and records every call of its source; :meth:`get_record_data` reads them back by name.
    """

    def __init__(self, recorders: Optional[Dict[str, dict]] = None):
        self.recorders: Dict[str, BaseRecorder] = {}
        for name, cfg in (recorders or {}).items():
            self.recorders[name] = cfg if isinstance(cfg, BaseRecorder) else TASK_UTILS.build(cfg)

    def initialize(self, model: nn.Module) -> None:
        for recorder in self.recorders.values():
            recorder.initialize(model)

    @contextmanager
    def recording(self) -> Iterator['RecorderManager']:
        for recorder in self.recorders.values():
            recorder.reset_data()
            recorder.recording = True
        try:
            yield self
        finally:
            for recorder in self.recorders.values():
                recorder.recording = False

    def get_recorder(self, name: str) -> BaseRecorder:
        if name not in self.recorders:
            raise KeyError(f'no recorder named {name!r}; valid: {sorted(self.recorders)} '
                           f'(close matches: {close_matches(name, list(self.recorders))})')
        return self.recorders[name]

    def get_record_data(self, name: str, record_idx: int = 0, data_idx: Optional[int] = None):
        return self.get_recorder(name).get_record_data(record_idx, data_idx)

    def __contains__(self, name: str) -> bool:
        return name in self.recorders

    def __repr__(self) -> str:
        return f'RecorderManager({self.recorders})'
